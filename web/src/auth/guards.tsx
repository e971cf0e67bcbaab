/**
 * Route guards. A signed-out visitor is sent to /login with the page they asked for in the
 * navigation state, and sent back there after logging in. Admin routes render the not-found
 * page for anyone else: a plain user learns nothing about what exists there.
 */
import { Navigate, Outlet, useLocation, type Location } from "react-router";
import { useSession } from "./SessionContext";
import { FullPageLoading } from "../components/States";
import { NotFoundPage } from "../pages/NotFoundPage";

export interface FromState {
  from?: Pick<Location, "pathname" | "search" | "hash">;
}

export function RequireAuth() {
  const { state } = useSession();
  const location = useLocation();
  if (state.status === "loading") return <FullPageLoading />;
  if (state.status === "signed-out") {
    // After a deliberate log-out, coming back to the same page is not what anyone wants
    // (the next person to log in on this device may not even be allowed there).
    if (state.reason === "logged-out") return <Navigate to="/login" replace />;
    const from: FromState = { from: { pathname: location.pathname, search: location.search, hash: location.hash } };
    return <Navigate to="/login" replace state={from} />;
  }
  return <Outlet />;
}

export function RequireAdmin() {
  const { user } = useSession();
  if (user?.role !== "admin") return <NotFoundPage />;
  return <Outlet />;
}

/** Login and sign-up make no sense while signed in: go where the user was headed. */
export function RedirectIfSignedIn() {
  const { state } = useSession();
  const location = useLocation();
  if (state.status === "loading") return <FullPageLoading />;
  if (state.status === "signed-in") return <Navigate to={destinationAfterLogin(location.state)} replace />;
  return <Outlet />;
}

export function destinationAfterLogin(state: unknown): string {
  const from = (state as FromState | null)?.from;
  if (!from || from.pathname === "/login" || from.pathname === "/signup") return "/profile";
  return `${from.pathname}${from.search}${from.hash}`;
}
