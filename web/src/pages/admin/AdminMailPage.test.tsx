import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Api } from "../../api/endpoints";
import type { MailMessage, MailPage, MailQuery } from "../../api/types";
import { ApiError, makeUser, problem, renderApp, signedInApi } from "../../test/utils";
import { describeKind } from "./AdminMailPage";

const admin = makeUser({ id: "admin-id", role: "admin", full_name: "Grace Admin", email: "grace@example.com" });

function message(overrides: Partial<MailMessage> = {}): MailMessage {
  return {
    id: "0192f6c4-8a3e-7b1c-9d2e-000000000001",
    to: "ada@example.com",
    kind: "password_reset",
    status: "sent",
    attempts: 1,
    created_at: "2026-11-26T12:00:00Z",
    next_attempt_at: "2026-11-26T12:00:00Z",
    finished_at: "2026-11-26T12:00:01Z",
    last_error: null,
    ...overrides,
  };
}

const LONG_ERROR = `smtp.example.com:587 (starttls): 550 5.1.1 ${"the mailbox does not exist here; ".repeat(6)}giving up`;
const sent = message({ id: "m-sent", to: "ada@example.com" });
const pending = message({
  id: "m-pending",
  to: "bob@example.com",
  status: "pending",
  attempts: 2,
  created_at: "2026-11-26T11:00:00Z",
  next_attempt_at: "2026-11-26T11:05:00Z",
  finished_at: null,
  last_error: "451 4.3.0 try again later",
});
const failed = message({
  id: "m-failed",
  to: "cy@example.com",
  status: "failed",
  attempts: 10,
  created_at: "2026-11-26T10:00:00Z",
  next_attempt_at: "2026-11-26T16:30:00Z",
  finished_at: "2026-11-26T16:30:02Z",
  last_error: LONG_ERROR,
});

/** A fake outbox over `messages`, filtered and paged as the server does (a page past the end is a 404). */
function outbox(messages: MailMessage[]) {
  return vi.fn((query: MailQuery): Promise<MailPage> => {
    const matching = messages.filter((entry) => !query.status || entry.status === query.status);
    const size = query.page_size ?? 10;
    const page = query.page ?? 1;
    const pages = Math.max(1, Math.ceil(matching.length / size));
    if (page > pages) return Promise.reject(new ApiError(404, problem(404, "Invalid page."), null, "Invalid page."));
    const link = (number: number) => `http://testserver/api/admin/mail/?page=${number}`;
    return Promise.resolve({
      count: matching.length,
      next: page < pages ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null,
      results: matching.slice((page - 1) * size, page * size),
    });
  });
}

function openMail(path: string, listMail: Api["listMail"]) {
  const api = signedInApi(admin, { listMail });
  return { api, ...renderApp(path, api) };
}

/** The data rows of the messages table, and each one's cells. */
async function rows() {
  const table = await screen.findByRole("table");
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((row) => ({ row, cells: within(row).getAllByRole("cell") }));
}

describe("the admin mail page", () => {
  it("lists each message with its recipient, kind, status, attempts, times and last error", async () => {
    const listMail = outbox([sent, pending, failed]);
    openMail("/admin/mail", listMail);
    expect(await screen.findByRole("heading", { level: 1, name: "Mail" })).toBeInTheDocument();
    expect(await screen.findByRole("table", { name: "Messages, page 1 of 1" })).toBeInTheDocument();
    expect(listMail).toHaveBeenCalledWith({ page: 1, page_size: 10, status: undefined });
    expect(screen.getByText(/^Showing/)).toHaveTextContent("Showing 1–3 of 3 messages");

    const [first, second, third] = await rows();
    expect(first!.cells).toHaveLength(7);
    // Recipient, kind in words, a status badge with its word, attempts, queued, delivered.
    expect(first!.cells[0]).toHaveTextContent("ada@example.com");
    expect(first!.cells[1]).toHaveTextContent("Password reset");
    expect(first!.cells[2]).toHaveTextContent(/^Sent$/);
    expect(first!.cells[2]!.querySelector("svg")).toHaveAttribute("aria-hidden", "true");
    expect(first!.cells[3]).toHaveTextContent(/^1$/);
    expect(within(first!.cells[4]!).getByText((_, element) => element?.getAttribute("datetime") === sent.created_at)).toBeInTheDocument();
    expect(first!.cells[5]).toHaveTextContent(/^Delivered/);
    expect(first!.cells[5]!.querySelector("time")).toHaveAttribute("datetime", sent.finished_at);
    expect(first!.cells[6]).toHaveTextContent("None");

    // A pending message says when it is tried next, and why the last try failed.
    expect(second!.cells[2]).toHaveTextContent(/^Pending$/);
    expect(second!.cells[3]).toHaveTextContent(/^2$/);
    expect(second!.cells[5]).toHaveTextContent(/^Next attempt/);
    expect(second!.cells[5]!.querySelector("time")).toHaveAttribute("datetime", pending.next_attempt_at);
    expect(second!.cells[6]).toHaveTextContent("451 4.3.0 try again later");

    // A failed one: when it was given up, and its long error whole behind a disclosure.
    expect(third!.cells[2]).toHaveTextContent(/^Failed$/);
    expect(third!.cells[5]).toHaveTextContent(/^Gave up/);
    const whole = within(third!.cells[6]!).getByText(LONG_ERROR);
    expect(whole).not.toBeVisible();
    await userEvent.setup().click(within(third!.cells[6]!).getByText("Show the whole error"));
    expect(whole).toBeVisible();

    // Narrow screens read the same facts from the recipient's cell.
    const folded = within(third!.cells[0]!);
    expect(folded.getByText("Password reset")).toBeInTheDocument();
    expect(folded.getByText("Attempts").nextElementSibling).toHaveTextContent("10");
    expect(folded.getByText("Gave up")).toBeInTheDocument();
    expect(folded.getByText("Last error")).toBeInTheDocument();
    expect(within(second!.cells[0]!).getByText("Next attempt")).toBeInTheDocument();
  });

  it("names kinds of mail in words", () => {
    expect(describeKind("password_reset")).toBe("Password reset");
    expect(describeKind("email_change_notice")).toBe("Email change notice");
    // Only the page's own names count, not whatever an object inherits.
    expect(describeKind("toString")).toBe("ToString");
  });

  it("filters by status, keeping the filter in the URL", async () => {
    const listMail = outbox([sent, pending, failed]);
    const app = openMail("/admin/mail", listMail);
    await screen.findByRole("table", { name: "Messages, page 1 of 1" });
    const group = screen.getByRole("group", { name: "Status" });
    expect(within(group).getAllByRole("radio").map((radio) => radio.getAttribute("value"))).toEqual(["", "pending", "sent", "failed"]);
    expect(within(group).getByRole("radio", { name: "All" })).toBeChecked();

    const user = userEvent.setup();
    await user.click(within(group).getByRole("radio", { name: "Failed" }));
    expect(await screen.findByRole("table", { name: "Failed messages, page 1 of 1" })).toBeInTheDocument();
    expect(listMail).toHaveBeenLastCalledWith({ page: 1, page_size: 10, status: "failed" });
    expect(app.location().search).toBe("?status=failed");
    expect(within(group).getByRole("radio", { name: "Failed" })).toBeChecked();
    expect(screen.getByText(/^Showing/)).toHaveTextContent("Showing 1–1 of 1 failed message");
    expect((await rows()).map(({ cells }) => cells[0]!.textContent)).toEqual([expect.stringContaining("cy@example.com")]);

    // The keyboard moves along the group with the arrow keys, applying each choice.
    await user.keyboard("{ArrowLeft}");
    expect(within(group).getByRole("radio", { name: "Sent" })).toHaveFocus();
    await waitFor(() => expect(app.location().search).toBe("?status=sent"));
    expect(await screen.findByRole("table", { name: "Sent messages, page 1 of 1" })).toBeInTheDocument();
    expect(listMail).toHaveBeenLastCalledWith({ page: 1, page_size: 10, status: "sent" });

    await user.click(within(group).getByRole("radio", { name: "All" }));
    await waitFor(() => expect(app.location().search).toBe(""));
    expect(listMail).toHaveBeenLastCalledWith({ page: 1, page_size: 10, status: undefined });
  });

  it("starts from the filter in the URL, and ignores one it does not know", async () => {
    const listMail = outbox([sent, pending, failed]);
    openMail("/admin/mail?status=pending", listMail);
    expect(await screen.findByRole("table", { name: "Pending messages, page 1 of 1" })).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Pending" })).toBeChecked();
    expect(listMail).toHaveBeenCalledTimes(1);
    expect(listMail).toHaveBeenCalledWith({ page: 1, page_size: 10, status: "pending" });

    const other = outbox([sent]);
    renderApp("/admin/mail?status=lost", signedInApi(admin, { listMail: other }));
    await waitFor(() => expect(other).toHaveBeenCalledWith({ page: 1, page_size: 10, status: undefined }));
  });

  it("says when there are no messages, and when none has the chosen status", async () => {
    const listMail = outbox([sent]);
    const app = openMail("/admin/mail?status=failed", listMail);
    expect(await screen.findByText("No failed messages")).toBeInTheDocument();
    expect(screen.queryByRole("table")).not.toBeInTheDocument();
    await userEvent.setup().click(screen.getByRole("button", { name: "Show all messages" }));
    expect(await screen.findByRole("table", { name: "Messages, page 1 of 1" })).toBeInTheDocument();
    expect(app.location().search).toBe("");
    expect(screen.getByRole("radio", { name: "All" })).toBeChecked();
  });

  it("says when the outbox is empty", async () => {
    openMail("/admin/mail", outbox([]));
    expect(await screen.findByText("No messages")).toBeInTheDocument();
    expect(screen.getByText("Mail the service sends, such as password reset links, is listed here.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Show all messages" })).not.toBeInTheDocument();
  });

  it("shows a loading state, then an error with a retry", async () => {
    let refuse: (error: unknown) => void = () => {};
    const listMail = vi
      .fn<Api["listMail"]>()
      .mockImplementationOnce(() => new Promise((_, reject) => (refuse = reject)))
      .mockImplementation(outbox([sent]));
    openMail("/admin/mail", listMail);
    expect(await screen.findByText("Loading messages…")).toBeInTheDocument();
    refuse(new ApiError(503, problem(503, "The database is unreachable."), null, "down"));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("This couldn't be loaded");
    expect(alert).toHaveTextContent("The service is temporarily unavailable. Try again in a moment.");
    expect(screen.queryByRole("table")).not.toBeInTheDocument();

    await userEvent.setup().click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("table", { name: "Messages, page 1 of 1" })).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(listMail).toHaveBeenCalledTimes(2);
  });

  it("says so when the server refuses the filter", async () => {
    const listMail = vi.fn(() =>
      Promise.reject(new ApiError(400, problem(400, "Some fields are invalid.", { status: ["Must be pending, sent or failed."] }), null, "bad")),
    );
    openMail("/admin/mail?status=sent", listMail);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("This filter is not valid");
    expect(alert).toHaveTextContent("Some fields are invalid.");
  });

  it("refreshes on demand", async () => {
    const messages = [pending];
    const listMail = outbox(messages);
    openMail("/admin/mail", listMail);
    const [before] = await rows();
    expect(before!.cells[2]).toHaveTextContent("Pending");
    messages[0] = { ...pending, status: "sent", finished_at: "2026-11-26T11:05:01Z", last_error: null };
    await userEvent.setup().click(screen.getByRole("button", { name: "Refresh" }));
    await waitFor(() => expect(screen.getAllByRole("row")[1]).toHaveTextContent("Sent"));
    expect(listMail).toHaveBeenCalledTimes(2);
  });

  it("pages through the outbox; a new filter starts again at page 1", async () => {
    const many = Array.from({ length: 23 }, (_, index) =>
      message({ id: `m-${index + 1}`, to: `person${index + 1}@example.com`, status: index % 2 === 0 ? "sent" : "pending" }),
    );
    const listMail = outbox(many);
    const app = openMail("/admin/mail", listMail);
    expect(await screen.findByText(/^Showing/)).toHaveTextContent("Showing 1–10 of 23 messages");
    expect(screen.getByRole("navigation", { name: "Pagination" })).toHaveTextContent("Page 1 of 3");
    expect(screen.getByRole("button", { name: "Previous page" })).toBeDisabled();

    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Next page" }));
    await waitFor(() => expect(screen.getByText(/^Showing/)).toHaveTextContent("Showing 11–20 of 23 messages"));
    expect(listMail).toHaveBeenLastCalledWith({ page: 2, page_size: 10, status: undefined });
    expect(app.location().search).toBe("?page=2");
    expect((await rows())[0]!.cells[0]).toHaveTextContent("person11@example.com");

    await user.click(screen.getByRole("button", { name: "Last page" }));
    await waitFor(() => expect(screen.getByText(/^Showing/)).toHaveTextContent("Showing 21–23 of 23 messages"));
    expect(screen.getByRole("button", { name: "Next page" })).toBeDisabled();
    expect(screen.getByRole("table", { name: "Messages, page 3 of 3" })).toBeInTheDocument();

    await user.click(screen.getByRole("radio", { name: "Sent" }));
    await waitFor(() => expect(screen.getByText(/^Showing/)).toHaveTextContent("Showing 1–10 of 12 sent messages"));
    expect(app.location().search).toBe("?status=sent");
    expect(listMail).toHaveBeenLastCalledWith({ page: 1, page_size: 10, status: "sent" });
  });

  it("trusts the server's next link when the count is behind it", async () => {
    // The count was taken before more mail was queued: `next` says there is another page.
    const listMail = vi.fn((query: MailQuery): Promise<MailPage> =>
      Promise.resolve({ count: 10, next: query.page === 1 ? "http://testserver/api/admin/mail/?page=2" : null, previous: null, results: [sent] }),
    );
    openMail("/admin/mail", listMail);
    await screen.findByRole("table", { name: "Messages, page 1 of 2" });
    expect(screen.getByRole("button", { name: "Next page" })).toBeEnabled();
  });

  it("goes back to page 1 from a page past the end", async () => {
    const listMail = outbox([sent, pending]);
    const app = openMail("/admin/mail?status=sent&page=4", listMail);
    expect(await screen.findByRole("table", { name: "Sent messages, page 1 of 1" })).toBeInTheDocument();
    expect(app.location().search).toBe("?status=sent");
    expect(listMail).toHaveBeenCalledWith({ page: 4, page_size: 10, status: "sent" });
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });
});
