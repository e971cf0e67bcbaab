import { Button } from "./ui";

export interface PaginationProps {
  page: number;
  pageCount: number;
  onPageChange: (page: number) => void;
  disabled?: boolean;
}

/** First / Previous / "Page n of m" / Next / Last. Page numbers start at 1. */
export function Pagination({ page, pageCount, onPageChange, disabled = false }: PaginationProps) {
  if (pageCount <= 1) return null;
  const go = (target: number) => onPageChange(Math.min(Math.max(1, target), pageCount));
  return (
    <nav aria-label="Pagination" className="flex flex-wrap items-center justify-between gap-3">
      <p className="text-sm text-slate-700" aria-live="polite">
        Page <span className="font-semibold">{page}</span> of <span className="font-semibold">{pageCount}</span>
      </p>
      <div className="flex gap-2">
        <Button variant="secondary" className="hidden sm:inline-flex" onClick={() => go(1)} disabled={disabled || page <= 1} aria-label="First page">
          First
        </Button>
        <Button variant="secondary" onClick={() => go(page - 1)} disabled={disabled || page <= 1} aria-label="Previous page">
          Previous
        </Button>
        <Button variant="secondary" onClick={() => go(page + 1)} disabled={disabled || page >= pageCount} aria-label="Next page">
          Next
        </Button>
        <Button variant="secondary" className="hidden sm:inline-flex" onClick={() => go(pageCount)} disabled={disabled || page >= pageCount} aria-label="Last page">
          Last
        </Button>
      </div>
    </nav>
  );
}
