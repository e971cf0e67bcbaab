/** Seconds left until `until` (a Date.now() timestamp), ticking once a second; 0 when `until`
 * is null or past. Pages use it to keep a button disabled for a 429's `Retry-After`. */
import { useEffect, useState } from "react";

export function useCountdown(until: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === null) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [until]);
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}
