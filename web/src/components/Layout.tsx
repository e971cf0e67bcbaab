/**
 * The frame around every page: a skip link, the header with navigation (a disclosure menu
 * below the `sm` breakpoint, or below `lg` for an administrator, whose links need the room),
 * and the main landmark. On every route change it moves focus to the new page's h1, as a full
 * page load would have reset focus to the document. A notice passed in the navigation state
 * (`NoticeState`) shows above the page.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { NavLink, Outlet, useLocation } from "react-router";
import { useSession } from "../auth/SessionContext";
import { Alert, RoleBadge } from "./ui";

/** Navigation state that shows one short notice above the next page, for news that belongs to
 * no page in particular ("your password was changed", after a reset link signed you in). */
export interface NoticeState {
  notice?: string;
}

interface NavItem {
  to: string;
  label: string;
  end?: boolean;
}

const accountLinks: NavItem[] = [
  { to: "/profile", label: "Profile", end: true },
  { to: "/profile/password", label: "Password" },
  { to: "/profile/sessions", label: "Sessions" },
];
const adminLinks: NavItem[] = [
  { to: "/admin/users", label: "Users" },
  { to: "/admin/audit", label: "Audit log" },
  { to: "/admin/mail", label: "Mail" },
];

function navClass({ isActive }: { isActive: boolean }): string {
  return `block rounded-md px-3 py-2 text-sm font-medium ${
    isActive ? "bg-indigo-50 text-indigo-800" : "text-slate-700 hover:bg-slate-100 hover:text-slate-900"
  }`;
}

function NavLinks({ items, label }: { items: NavItem[]; label: string }) {
  return (
    <ul aria-label={label} className="flex flex-col gap-1 bar:flex-row">
      {items.map((item) => (
        <li key={item.to}>
          <NavLink to={item.to} end={item.end ?? false} className={navClass}>
            {item.label}
          </NavLink>
        </li>
      ))}
    </ul>
  );
}

export function Layout() {
  const { user, logOut } = useSession();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [loggingOut, setLoggingOut] = useState(false);
  const menuId = useId();
  const firstRender = useRef(true);

  useEffect(() => {
    setMenuOpen(false);
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>("main h1");
    (heading ?? document.getElementById("main"))?.focus();
  }, [location.pathname]);

  async function onLogOut() {
    setLoggingOut(true);
    // The session context flips to signed-out whatever the server said, and the route guard
    // then shows the login page.
    try {
      await logOut();
    } catch {
      // The tokens are forgotten locally even when the server could not be told.
    } finally {
      setLoggingOut(false);
    }
  }

  const isAdmin = user?.role === "admin";
  const notice = (location.state as NoticeState | null)?.notice;

  return (
    <div className="flex min-h-screen flex-col">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-white px-4 py-2 text-sm font-semibold text-indigo-700 shadow focus:not-sr-only focus:absolute focus:left-4 focus:top-4"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white" data-bar={isAdmin ? "lg" : "sm"}>
        <div className="relative mx-auto flex max-w-6xl items-center justify-between gap-4 px-4 py-3 sm:px-6">
          <NavLink to={user ? "/profile" : "/login"} className="flex items-center gap-2 rounded-md text-lg font-bold text-slate-900"
            aria-label="Users, home"
          >
            <img src="/favicon.svg" alt="" className="size-7" />
            Users
          </NavLink>
          {user && (
            <button
              type="button"
              className="inline-flex min-h-10 items-center rounded-md px-3 text-sm font-semibold text-slate-700 ring-1 ring-inset ring-slate-300 bar:hidden"
              aria-expanded={menuOpen}
              aria-controls={menuId}
              onClick={() => setMenuOpen((open) => !open)}
            >
              Menu
            </button>
          )}
          {user && (
            <div
              id={menuId}
              className={`${menuOpen ? "flex" : "hidden"} absolute inset-x-0 top-full z-40 flex-col gap-4 border-b border-slate-200 bg-white px-4 pb-4 shadow-md bar:static bar:flex bar:flex-1 bar:flex-row bar:items-center bar:justify-between bar:border-0 bar:p-0 bar:shadow-none`}
            >
              <nav aria-label="Main" className="flex flex-col gap-3 bar:flex-row bar:items-center bar:gap-6">
                <NavLinks items={accountLinks} label="Account" />
                {isAdmin && (
                  <div className="flex flex-col gap-1 border-t border-slate-200 pt-3 bar:flex-row bar:items-center bar:border-l bar:border-t-0 bar:pl-6 bar:pt-0">
                    <span className="px-3 text-xs font-semibold uppercase tracking-wide text-slate-500 bar:px-0 bar:pr-2">Admin</span>
                    <NavLinks items={adminLinks} label="Administration" />
                  </div>
                )}
              </nav>
              <div className="flex items-center justify-between gap-3 border-t border-slate-200 pt-3 bar:border-0 bar:pt-0">
                <span className="flex min-w-0 items-center gap-2 text-sm text-slate-700">
                  <span className="truncate" title={user.email}>
                    {user.full_name}
                  </span>
                  {isAdmin && <RoleBadge role="admin" />}
                </span>
                <button
                  type="button"
                  onClick={() => void onLogOut()}
                  disabled={loggingOut}
                  className="min-h-10 rounded-md px-3 text-sm font-semibold text-slate-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 disabled:opacity-60"
                >
                  {loggingOut ? "Logging out…" : "Log out"}
                </button>
              </div>
            </div>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 px-4 py-8 sm:px-6">
        {/* The live region outlives the pages, so a notice arriving with a new page is read out. */}
        <div aria-live="polite" className="mb-6 empty:hidden">
          {notice && <Alert tone="success">{notice}</Alert>}
        </div>
        <Outlet />
      </main>
      <footer className="border-t border-slate-200 py-6 text-center text-xs text-slate-500">
        Users · account and access management
      </footer>
    </div>
  );
}

/** The centred single-card frame of the login and sign-up pages. */
export function AuthFrame({ children }: { children: ReactNode }) {
  return <div className="mx-auto w-full max-w-md">{children}</div>;
}
