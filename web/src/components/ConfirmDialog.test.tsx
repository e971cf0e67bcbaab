import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ConfirmDialog } from "./ConfirmDialog";

describe("the confirmation dialog", () => {
  it("keeps Tab inside itself", async () => {
    render(
      <ConfirmDialog open title="Sure?" confirmLabel="Do it" onConfirm={vi.fn()} onCancel={vi.fn()}>
        Really.
      </ConfirmDialog>,
    );
    const user = userEvent.setup();
    expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.tab();
    expect(screen.getByRole("button", { name: "Do it" })).toHaveFocus();
    await user.tab();
    expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.tab({ shift: true });
    expect(screen.getByRole("button", { name: "Do it" })).toHaveFocus();
  });

  it("is labelled and described for assistive technology", () => {
    render(
      <ConfirmDialog open title="Deactivate Ada?" confirmLabel="Deactivate" onConfirm={vi.fn()} onCancel={vi.fn()}>
        She will be signed out.
      </ConfirmDialog>,
    );
    const dialog = screen.getByRole("alertdialog", { name: "Deactivate Ada?" });
    expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(dialog).toHaveAccessibleDescription("She will be signed out.");
  });
});
