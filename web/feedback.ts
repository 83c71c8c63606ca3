/**
 * "Was it right?": after a one-digit answer the person confirms it or says which digit it was. With their
 * consent (a box, unticked by default) the server keeps the picture and label; this browser is named to the
 * server only by a random id kept in localStorage, and can delete everything it kept.
 */
import { $ } from "./dom.js";

const CLIENT_KEY = "digits-client";
const HEADER = "x-digits-client";

function clientId(): string {
  let id = localStorage.getItem(CLIENT_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(CLIENT_KEY, id);
  }
  return id;
}

/** Keeps a labelled picture on the server (the person ticked "keep"); the server's id, or why not. */
export async function keepOnServer(
  label: number,
  picture: Blob,
): Promise<{ id: number } | { message: string }> {
  const res = await fetch(`/api/samples?label=${label}&consent=true`, {
    method: "POST",
    headers: { "content-type": picture.type || "image/png", [HEADER]: clientId() },
    body: picture,
  });
  const json = await res.json();
  return res.ok ? { id: json.id } : { message: json.message ?? `HTTP ${res.status}` };
}

export class Feedback {
  private answer: number | undefined;
  private keeping = false;
  private readonly panel = $("feedback");
  private readonly status = $("kept");

  /** `picture` gives the picture just read. */
  constructor(private readonly picture: () => Promise<Blob>) {
    const choices = $("labels");
    for (let d = 0; d < 10; d++) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = String(d);
      b.dataset.label = String(d);
      b.setAttribute("aria-label", `it was a ${d}`);
      b.addEventListener("click", () => void this.give(d));
      choices.append(b);
    }
    $("right").addEventListener("click", () => this.answer !== undefined && void this.give(this.answer));
    $("forget").addEventListener("click", () => void this.forget());
  }

  /** The server keeps samples: offer the consent box. */
  enableKeeping(): void {
    this.keeping = true;
    $("consent-row").hidden = false;
    void this.refresh();
  }

  /** A new one-digit answer to confirm or correct (undefined: nothing to ask). */
  ask(answer: number | undefined): void {
    this.answer = answer;
    this.panel.hidden = answer === undefined;
    $("right").textContent = answer === undefined ? "Yes" : `Yes, a ${answer}`;
    this.status.textContent = "";
  }

  private async give(label: number): Promise<void> {
    if (this.answer === undefined) return;
    const picture = await this.picture();
    const consent = this.keeping && $<HTMLInputElement>("consent").checked;
    if (!consent) {
      this.status.textContent = `Noted: a ${label}. Not kept${this.keeping ? " (tick the box to keep it)" : ""}.`;
      return;
    }
    const kept = await keepOnServer(label, picture);
    if ("message" in kept) {
      this.status.textContent = `Not kept: ${kept.message}`;
      return;
    }
    this.status.textContent = `Kept as a ${label} (sample ${kept.id}).`;
    document.body.dataset.kept = String(kept.id);
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    const res = await fetch("/api/samples", { headers: { [HEADER]: clientId() } });
    const n = res.ok ? ((await res.json()).samples as unknown[]).length : 0;
    $("forget").hidden = n === 0;
    $("forget").textContent = `Delete the ${n} digit${n === 1 ? "" : "s"} this browser kept`;
  }

  private async forget(): Promise<void> {
    const res = await fetch("/api/samples", { method: "DELETE", headers: { [HEADER]: clientId() } });
    const json = await res.json();
    this.status.textContent = res.ok
      ? `Deleted ${json.deleted} kept digit(s).`
      : `Not deleted: ${json.message}`;
    await this.refresh();
  }
}
