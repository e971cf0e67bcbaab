import { useSession } from "../auth/SessionContext";
import { ButtonLink, PageHeader } from "../components/ui";

export function NotFoundPage() {
  const { user } = useSession();
  return (
    <div className="mx-auto max-w-lg py-12 text-center">
      <p className="text-sm font-semibold text-indigo-700">404</p>
      <PageHeader title="Page not found" />
      <p className="-mt-2 text-slate-600">The page you asked for doesn't exist, or you don't have access to it.</p>
      <div className="mt-8 flex justify-center">
        <ButtonLink to={user ? "/profile" : "/login"} variant="primary">
          {user ? "Go to your profile" : "Go to log in"}
        </ButtonLink>
      </div>
    </div>
  );
}
