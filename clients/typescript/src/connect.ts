/**
 * The browser side of connecting an account: `connect(url)` opens tokenvault's connect page in
 * a popup and resolves with the result the page posts back (`postMessage`, accepted only from
 * the page's own origin) when it closes.
 *
 *   import { connect } from "@tokenvault/client/connect";
 *   const result = await connect(linkFromYourBackend);   // { status: "connected", integrationKey }
 */

export interface ConnectResult {
  status: "connected" | "error";
  integrationKey?: string;
  error?: string;
}

export interface ConnectOptions {
  width?: number;
  height?: number;
}

/** The message tokenvault's connect page posts to its opener. */
interface ConnectMessage {
  type: "tokenvault.connect";
  status: "connected" | "error";
  integration_key?: string;
  error?: string;
}

function isConnectMessage(data: unknown): data is ConnectMessage {
  if (data === null || typeof data !== "object") return false;
  const fields = data as Record<string, unknown>;
  return fields["type"] === "tokenvault.connect" && (fields["status"] === "connected" || fields["status"] === "error");
}

export function connect(url: string, options: ConnectOptions = {}): Promise<ConnectResult> {
  const origin = new URL(url).origin;
  const width = options.width ?? 520;
  const height = options.height ?? 680;
  const left = Math.max(0, Math.round(window.screenX + (window.outerWidth - width) / 2));
  const top = Math.max(0, Math.round(window.screenY + (window.outerHeight - height) / 2));
  const popup = window.open(url, "tokenvault-connect", `popup,width=${width},height=${height},left=${left},top=${top}`);
  if (popup === null) {
    return Promise.reject(new Error("the browser blocked the connect popup; call connect() from a click"));
  }
  return new Promise((resolve, reject) => {
    const done = (): void => {
      window.removeEventListener("message", onMessage);
      window.clearInterval(watch);
    };
    const onMessage = (event: MessageEvent): void => {
      if (event.origin !== origin || event.source !== popup || !isConnectMessage(event.data)) return;
      done();
      const result: ConnectResult = { status: event.data.status };
      if (event.data.integration_key !== undefined) result.integrationKey = event.data.integration_key;
      if (event.data.error !== undefined) result.error = event.data.error;
      resolve(result);
    };
    const watch = window.setInterval(() => {
      if (popup.closed) {
        done();
        reject(new Error("the connect popup was closed before it finished"));
      }
    }, 500);
    window.addEventListener("message", onMessage);
  });
}
