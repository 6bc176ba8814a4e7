// The staff home: a greeting and the spaces this role may open.
import { app } from '../lib/app';
import { t, formatDateTime } from '../i18n';
import { navItems } from '../routes';
import { Link, Page } from '../components/ui';
import { Icon } from '../components/icons';
import type { Key } from '../i18n';

export function HomePage() {
  const me = app.get().me!;
  const items = navItems(me).filter((i) => i.href !== '/');
  return (
    <Page title={t('home.title', { name: me.user.display_name || me.user.username })} lead={t('home.lead')}>
      <ul class="cards">
        {items.map((it) => (
          <li key={it.href} class="card">
            <Link href={it.href} class="card-link">
              <Icon name={it.icon} class="card-icon" />
              <span class="card-title">{t(it.label)}</span>
            </Link>
            <p class="card-text">{t(`home.card.${it.href.slice(1)}` as Key)}</p>
          </li>
        ))}
        <li class="card">
          <Link href="/account" class="card-link">
            <Icon name="account" class="card-icon" />
            <span class="card-title">{t('nav.account')}</span>
          </Link>
          <p class="card-text">{t('home.card.account')}</p>
        </li>
      </ul>
      <p class="muted">
        {t('home.session', { time: formatDateTime(me.session.created_at), role: t(`role.${me.user.role}` as Key) })}
      </p>
    </Page>
  );
}
