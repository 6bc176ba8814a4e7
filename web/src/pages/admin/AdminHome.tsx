// The administration space's entry: links to what this role may administer.
import { can } from '../../lib/app';
import { t } from '../../i18n';
import { Link, Page } from '../../components/ui';
import { Icon } from '../../components/icons';

export function AdminHomePage() {
  return (
    <Page title={t('nav.admin')} lead={t('admin.lead')}>
      <ul class="cards">
        {can('users.read') && (
          <li class="card">
            <Link href="/admin/users" class="card-link">
              <Icon name="users" class="card-icon" />
              <span class="card-title">{t('nav.users')}</span>
            </Link>
            <p class="card-text">{t('admin.users.card')}</p>
          </li>
        )}
        {can('audit.read') && (
          <li class="card">
            <Link href="/admin/audit" class="card-link">
              <Icon name="audit" class="card-icon" />
              <span class="card-title">{t('nav.audit')}</span>
            </Link>
            <p class="card-text">{t('admin.audit.card')}</p>
          </li>
        )}
      </ul>
    </Page>
  );
}
