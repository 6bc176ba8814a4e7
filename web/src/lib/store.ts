// A tiny observable store and the hook that re-renders a component when it changes.
import { useEffect, useReducer } from 'preact/hooks';

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
  const [, force] = useReducer((n: number) => n + 1, 0);
  useEffect(() => store.subscribe(() => force(0)), [store]);
  return store.get();
}
