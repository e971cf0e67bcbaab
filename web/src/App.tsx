/**
 * The route table. Public pages (login, sign-up) redirect away once signed in; the password
 * reset pages work either way; account pages need a session; admin pages need the admin role
 * and show "not found" to anyone else.
 */
import { Navigate, Route, Routes } from "react-router";
import { RedirectIfSignedIn, RequireAdmin, RequireAuth } from "./auth/guards";
import { useSession } from "./auth/SessionContext";
import { Layout } from "./components/Layout";
import { FullPageLoading } from "./components/States";
import { AdminAuditPage } from "./pages/admin/AdminAuditPage";
import { AdminMailPage } from "./pages/admin/AdminMailPage";
import { AdminUserDetailPage } from "./pages/admin/AdminUserDetailPage";
import { AdminUsersPage } from "./pages/admin/AdminUsersPage";
import { ChangePasswordPage } from "./pages/ChangePasswordPage";
import { ForgotPasswordPage } from "./pages/ForgotPasswordPage";
import { LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { ProfilePage } from "./pages/ProfilePage";
import { ResetPasswordPage } from "./pages/ResetPasswordPage";
import { SessionsPage } from "./pages/SessionsPage";
import { SignUpPage } from "./pages/SignUpPage";

function Home() {
  const { state } = useSession();
  if (state.status === "loading") return <FullPageLoading />;
  return <Navigate to={state.status === "signed-in" ? "/profile" : "/login"} replace />;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Home />} />
        <Route element={<RedirectIfSignedIn />}>
          <Route path="login" element={<LoginPage />} />
          <Route path="signup" element={<SignUpPage />} />
        </Route>
        {/* Unguarded: a reset link works whoever is signed in on this browser (its success
            replaces that session with the account's new one), and its "ask for a new link" must
            not bounce a signed-in visitor away. */}
        <Route path="forgot-password" element={<ForgotPasswordPage />} />
        <Route path="reset-password" element={<ResetPasswordPage />} />
        <Route element={<RequireAuth />}>
          <Route path="profile" element={<ProfilePage />} />
          <Route path="profile/password" element={<ChangePasswordPage />} />
          <Route path="profile/sessions" element={<SessionsPage />} />
          <Route path="admin" element={<RequireAdmin />}>
            <Route index element={<Navigate to="users" replace />} />
            <Route path="users" element={<AdminUsersPage />} />
            <Route path="users/:userId" element={<AdminUserDetailPage />} />
            <Route path="audit" element={<AdminAuditPage />} />
            <Route path="mail" element={<AdminMailPage />} />
          </Route>
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
