/**
 * A real Chromium for the dashboard's tests: Debian's `chromium` package (`/usr/bin/chromium`,
 * or `ORCHESTRA_CHROMIUM`), driven by `npm:playwright-core` (which downloads no browser of its
 * own). `.ci/run` installs the package where it is missing and sets `ORCHESTRA_REQUIRE_BROWSER=1`:
 * then a missing browser fails the tests. Elsewhere they are registered as ignored, with one
 * line saying why, so that `deno task test` works on a machine without Chromium.
 */

import { type Browser, chromium } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The Chromium executable, if there is one. */
export const CHROMIUM: string | undefined = Deno.env.get("ORCHESTRA_CHROMIUM") ||
  CANDIDATES.find(exists);

const required = Deno.env.get("ORCHESTRA_REQUIRE_BROWSER") === "1";
let told = false;

/** What a browser test gets. */
export interface BrowserTest {
  /** A started browser (closed after the test, whatever happens). */
  browser: Browser;
  /** The test's context, for steps. */
  t: Deno.TestContext;
}

/**
 * `Deno.test` for a test that needs Chromium: it gets a started browser, which is closed at
 * the end (also on failure or timeout). The whole test is bounded by `timeoutMs`.
 */
export function browserTest(
  name: string,
  fn: (b: BrowserTest) => Promise<void>,
  timeoutMs = 120_000,
): void {
  if (CHROMIUM === undefined && !required && !told) {
    told = true;
    console.warn(
      "Chromium is not installed: the dashboard's browser tests are ignored " +
        "(apt-get install chromium, or set ORCHESTRA_CHROMIUM; .ci/run installs it)",
    );
  }
  Deno.test({
    name,
    ignore: CHROMIUM === undefined && !required,
    // Playwright keeps a pipe and timers to the browser process between calls.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      if (CHROMIUM === undefined) {
        throw new Error(
          "ORCHESTRA_REQUIRE_BROWSER=1 but no Chromium was found: install Debian's chromium package or set ORCHESTRA_CHROMIUM",
        );
      }
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30_000,
        // As root (CI containers) Chromium's sandbox cannot start; /dev/shm is small there.
        args: [
          ...(Deno.uid?.() === 0 ? ["--no-sandbox"] : []),
          "--disable-dev-shm-usage",
          "--disable-gpu",
        ],
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          fn({ browser, t }),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`${name}: did not end within ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
        await browser.close().catch(() => {});
      }
    },
  });
}
