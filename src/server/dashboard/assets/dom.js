// Building the page safely: every element is made with the DOM API and every value from the
// server (flow names, task ids, params, log lines, error messages: all attacker-controlled) goes
// in as a text node or an attribute value, never as markup. Nothing in the dashboard parses HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Refuses what would turn a value into code: event-handler attributes (handlers go in `on`, as
 * functions), `style` (the Content-Security-Policy forbids inline style; use classes), and links
 * that are not this server's own (`#/…` routes or `/…` paths).
 */
function checkAttribute(name, value) {
  const n = name.toLowerCase();
  if (n.startsWith("on") || n === "style" || n === "srcdoc") {
    throw new TypeError(`dom: attribute "${name}" is not allowed`);
  }
  if (
    (n === "href" || n === "src" || n === "action" || n === "xlink:href") &&
    !/^(#|\/(?!\/))/.test(value)
  ) {
    throw new TypeError(`dom: ${name} must be a path of this server, got "${value}"`);
  }
}

function fill(el, props, children) {
  // Children first: a <select>'s value can only be set once its options are there.
  append(el, children);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [type, fn] of Object.entries(value)) {
        if (typeof fn !== "function") throw new TypeError(`dom: on.${type} must be a function`);
        el.addEventListener(type, fn);
      }
    } else if (name === "dataset") {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (name === "class") {
      el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (name === "value" && "value" in el) {
      el.value = String(value);
    } else if (
      name === "checked" || name === "disabled" || name === "hidden" || name === "selected"
    ) {
      el[name] = Boolean(value);
    } else {
      const text = value === true ? "" : String(value);
      checkAttribute(name, text);
      el.setAttribute(name, text);
    }
  }
  return el;
}

/** Appends children: nodes as they are, anything else (strings, numbers) as text. */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * An HTML element: `h("a", { href: "#/runs/1", class: "x" }, "text", child)`.
 *
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, props, ...children) {
  return fill(document.createElement(tag), props, children);
}

/**
 * An SVG element, as {@link h}.
 *
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...unknown} children
 * @returns {SVGElement}
 */
export function s(tag, props, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), props, children);
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A `#/…` route link, its parts percent-encoded (a task id may hold `/`, `?` or `#`). */
export function route(...parts) {
  return "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
}
