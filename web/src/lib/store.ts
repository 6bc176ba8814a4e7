// A tiny observable store and the hook that re-renders a component when it changes.
import { useLayoutEffect, useReducer, useRef } from 'preact/hooks';

export type Listener = () => void;

export interface Store<T> {
  get(): T;
  set(patch: Partial<T>): void;
  subscribe(l: Listener): () => void;
}

export function createStore<T extends object>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<Listener>();
  return {
    get: () => value,
    set(patch) {
      value = { ...value, ...patch };
      for (const l of [...listeners]) l();
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

export function useStore<T extends object>(store: Store<T>): T {
  const value = store.get();
  const [, force] = useReducer((n: number) => n + 1, 0);
  const rendered = useRef(value);
  rendered.current = value;
  useLayoutEffect(() => {
    const check = () => {
      if (store.get() !== rendered.current) force(0);
    };
    const off = store.subscribe(check);
    // A change between this render and the subscription (a socket message, say) is not lost.
    check();
    return off;
  }, [store]);
  return value;
}
