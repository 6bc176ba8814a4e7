// A screen whose code is fetched the first time it is shown; a spinner meanwhile.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Spinner } from './ui';
import { t } from '../i18n';

export function lazyPage<M, P extends object>(load: () => Promise<M>, pick: (m: M) => ComponentType<P>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let promise: Promise<ComponentType<P>> | null = null;
  const get = () => (promise ??= load().then((m) => (loaded = pick(m))));
  return function LazyPage(props: P) {
    const [C, setC] = useState<ComponentType<P> | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (!C)
        get().then(
          (c) => setC(() => c),
          () => {
            promise = null;
            setFailed(true);
          },
        );
    }, []);
    if (failed)
      return (
        <div class="alert alert-error" role="alert">
          <p>{t('error.network')}</p>
          <button type="button" class="btn" onClick={() => location.reload()}>
            {t('common.reload')}
          </button>
        </div>
      );
    return C ? <C {...props} /> : <Spinner />;
  };
}
