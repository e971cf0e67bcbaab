/**
 * Loads data for a page and tracks loading / error state. The previous data stays on screen
 * while the next load runs (no flicker when paging), and an answer that arrives after a newer
 * request started is dropped, so fast paging never shows a stale page.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { toApiError, type ApiError } from "../api/problem";

export interface Resource<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
  /** Replaces the data in place after a mutation, without refetching. */
  setData: (update: (current: T | null) => T | null) => void;
}

export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const [data, setDataState] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);

  useEffect(() => {
    const request = ++latest.current;
    setLoading(true);
    setError(null);
    load()
      .then((result) => {
        if (request === latest.current) setDataState(result);
      })
      .catch((caught: unknown) => {
        if (request === latest.current) setError(toApiError(caught));
      })
      .finally(() => {
        if (request === latest.current) setLoading(false);
      });
    // `load` is a new closure every render; `deps` says when it really changes.
  }, [...deps, generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  const setData = useCallback((update: (current: T | null) => T | null) => setDataState(update), []);
  return { data, error, loading, reload, setData };
}
