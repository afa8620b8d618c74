/** Helpers for driving the dashboard in the browser tests. */

import type { Browser, Page } from "playwright-core";

/** An element, as the tests' in-page functions use it. */
export interface PageElement {
  /** Its `data-*` attributes. */
  dataset: Record<string, string | undefined>;
  /** An attribute. */
  getAttribute(name: string): string | null;
}

/**
 * The page's globals, as the tests' in-page functions use them: the tests are type-checked
 * without the DOM library (it clashes with Deno's), and types are erased before a function is
 * sent to the page, so `globalThis as unknown as PageWindow` costs nothing there.
 */
export interface PageWindow {
  /** The document. */
  document: {
    querySelectorAll(selector: string): Iterable<PageElement>;
    querySelector(selector: string): PageElement | null;
    addEventListener(
      type: string,
      fn: (e: { violatedDirective: string; blockedURI: string }) => void,
    ): void;
  };
  /** An element's computed style. */
  getComputedStyle(e: PageElement): { fill: string };
  /** CSP violations seen. */
  __csp: string[];
  /** A marker that a reload would wipe. */
  __same?: number;
  /** Set by a hostile script, if one ever ran. */
  __xss?: string;
}

/** A page of the dashboard that records script errors and CSP violations. */
export async function openPage(browser: Browser, url: string): Promise<{
  page: Page;
  problems(): Promise<string[]>;
}> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  await page.addInitScript(() => {
    const g = globalThis as unknown as PageWindow;
    g.__csp = [];
    g.document.addEventListener("securitypolicyviolation", (e) => {
      g.__csp.push(`CSP refused ${e.violatedDirective}: ${e.blockedURI}`);
    });
  });
  await page.goto(url);
  return {
    page,
    async problems() {
      const csp = await page.evaluate(() => (globalThis as unknown as PageWindow).__csp);
      return [...errors, ...csp];
    },
  };
}

/** Waits until the graph's node of `task` is in `state` (compared as data, not as a selector). */
export async function waitNode(page: Page, task: string, state: string): Promise<void> {
  await page.waitForFunction(
    ([id, st]) =>
      [...(globalThis as unknown as PageWindow).document.querySelectorAll("#graph g.node")].some((
        n,
      ) => n.dataset.task === id && n.dataset.state === st),
    [task, state],
  );
}

/** Clicks the graph's node of `task`. */
export async function clickNode(page: Page, task: string): Promise<void> {
  const nodes = page.locator("#graph g.node");
  const count = await nodes.count();
  for (let i = 0; i < count; i++) {
    if (await nodes.nth(i).getAttribute("data-task") === task) {
      await nodes.nth(i).click();
      return;
    }
  }
  throw new Error(`no node for task ${task}`);
}

/** The run id of the page's address (`#/runs/ID…`). */
export async function runIdOf(page: Page): Promise<string> {
  await page.waitForURL(/#\/runs\/[^/?]+/);
  return decodeURIComponent(new URL(page.url()).hash.replace(/^#\/runs\/([^?]+).*$/, "$1"));
}
