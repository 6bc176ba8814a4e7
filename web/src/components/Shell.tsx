// The staff space's frame: a header (site, live connection state, the user), the navigation
// (only what the role allows), and the page. On a phone the navigation folds behind a button.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { app, logout } from '../lib/app';
import { t } from '../i18n';
import { navItems } from '../routes';
import { Icon } from './icons';
import { LangSwitch, Link } from './ui';
import { Logo } from './Logo';
import { ConnectionStatus } from './ConnectionStatus';
import { CallDock } from './call/CallDock';

function isCurrent(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(href + '/');
}

export function Shell(props: { children?: ComponentChildren }) {
  const { me, info, path } = app.get();
  const [open, setOpen] = useState(false);
  const menuBtn = useRef<HTMLButtonElement>(null);
  useEffect(() => setOpen(false), [path]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        menuBtn.current?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open]);
  if (!me) return null;
  const items = navItems(me);
  return (
    <div class={`shell${open ? ' nav-open' : ''}`}>
      <header class="topbar">
        <button
          type="button"
          class="menu-btn"
          ref={menuBtn}
          aria-expanded={open ? 'true' : 'false'}
          aria-controls="main-nav"
          onClick={() => setOpen(!open)}
        >
          <Icon name={open ? 'close' : 'menu'} />
          <span class="menu-btn-text">{t('nav.menu')}</span>
        </button>
        <Link href="/" class="brand">
          <Logo name={info.name} />
        </Link>
        <ConnectionStatus />
        <div class="topbar-user">
          <Link href="/account" class="user-chip">
            <Icon name="account" />
            <span class="user-chip-name">{me.user.display_name || me.user.username}</span>
            <span class="visually-hidden"> — {t('nav.account')}</span>
          </Link>
        </div>
      </header>
      <nav id="main-nav" class="sidenav" aria-label={t('nav.label')}>
        <ul class="nav-list">
          {items.map((it) => (
            <li key={it.href}>
              <Link href={it.href} class="nav-link" aria-current={isCurrent(it.href, path) ? 'page' : undefined}>
                <Icon name={it.icon} />
                <span>{t(it.label)}</span>
              </Link>
              {it.children && (
                <ul class="nav-sub">
                  {it.children.map((c) => (
                    <li key={c.href}>
                      <Link href={c.href} class="nav-link nav-link-sub" aria-current={isCurrent(c.href, path) ? 'page' : undefined}>
                        <Icon name={c.icon} />
                        <span>{t(c.label)}</span>
                      </Link>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
        <div class="nav-bottom">
          <Link href="/account" class="nav-link" aria-current={isCurrent('/account', path) ? 'page' : undefined}>
            <Icon name="account" />
            <span>{t('nav.account')}</span>
          </Link>
          <LangSwitch class="nav-lang" />
          <button type="button" class="nav-link nav-logout" onClick={() => void logout()}>
            <Icon name="logout" />
            <span>{t('nav.logout')}</span>
          </button>
          <p class="nav-version">carecomm {info.version}</p>
        </div>
      </nav>
      <main id="main" class="content" tabIndex={-1}>
        {props.children}
      </main>
      {me.permissions.includes('meetings') && <CallDock />}
    </div>
  );
}
