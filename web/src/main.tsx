import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { createDefaultApi } from "./api";
import { ApiProvider } from "./api/ApiContext";
import { AppRoutes } from "./App";
import { SessionProvider } from "./auth/SessionContext";
import "./index.css";

const api = createDefaultApi();
const container = document.getElementById("root");
if (!container) throw new Error("index.html has no #root element.");

createRoot(container).render(
  <StrictMode>
    <ApiProvider api={api}>
      <BrowserRouter>
        <SessionProvider>
          <AppRoutes />
        </SessionProvider>
      </BrowserRouter>
    </ApiProvider>
  </StrictMode>,
);
