// A space that a later issue fills: a real entry of the navigation, saying it is coming.
import { t, type Key } from '../i18n';
import { Link, Page } from '../components/ui';
import { Icon } from '../components/icons';

export function PlaceholderPage(props: { area: 'messages' | 'meetings' | 'consultations' | 'expertise' | 'devices' }) {
  return (
    <Page title={t(`nav.${props.area}` as Key)}>
      <div class="empty">
        <Icon name={props.area} class="empty-icon" />
        <p class="empty-title">{t('placeholder.title')}</p>
        <p>{t(`placeholder.${props.area}` as Key)}</p>
        <p>
          <Link href="/" class="btn">
            {t('common.backHome')}
          </Link>
        </p>
      </div>
    </Page>
  );
}

export function ForbiddenPage() {
  return (
    <Page title={t('forbidden.title')}>
      <p>{t('forbidden.text')}</p>
      <p>
        <Link href="/" class="btn btn-primary">
          {t('common.backHome')}
        </Link>
      </p>
    </Page>
  );
}

export function NotFoundPage() {
  return (
    <Page title={t('notFound.title')}>
      <p>{t('notFound.text')}</p>
      <p>
        <Link href="/" class="btn btn-primary">
          {t('common.backHome')}
        </Link>
      </p>
    </Page>
  );
}
