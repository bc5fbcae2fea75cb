// Renders /openapi.json as a plain reference page: operations grouped by tag, their parameters, request
// bodies and answers (schemas expanded from components), the security schemes, and the webhooks.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function resolve(doc, schema) {
  if (schema && schema.$ref) return doc.components.schemas[schema.$ref.split("/").pop()];
  return schema;
}

// A schema as an example-like outline, references expanded once (cycles stop at the name).
function outline(doc, schema, seen) {
  if (!schema) return "any";
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    if (seen.has(name)) return name;
    return outline(doc, resolve(doc, schema), new Set([...seen, name]));
  }
  for (const key of ["allOf", "oneOf", "anyOf"]) {
    if (schema[key]) return schema[key].map((s) => outline(doc, s, seen)).reduce((a, b) =>
      typeof a === "object" && typeof b === "object" ? Object.assign({}, a, b) : b);
  }
  const type = Array.isArray(schema.type) ? schema.type.filter((t) => t !== "null")[0] : schema.type;
  if (type === "object" && schema.properties) {
    const out = {};
    for (const [name, prop] of Object.entries(schema.properties)) out[name] = outline(doc, prop, seen);
    return out;
  }
  if (type === "array") return [outline(doc, schema.items, seen)];
  return type || "any";
}

function schemaBlock(doc, content) {
  const block = el("div");
  for (const [mediaType, media] of Object.entries(content || {})) {
    block.append(el("div", {}, el("code", {}, mediaType)));
    if (media.schema) block.append(el("pre", {}, JSON.stringify(outline(doc, media.schema, new Set()), null, 2)));
  }
  return block;
}

function operationSection(doc, method, path, op) {
  const section = el("section", { class: "operation", id: op.operationId || method + path });
  section.append(el("h3", {}, el("span", { class: "method " + method }, method), " ", el("span", { class: "path" }, path)));
  if (op.summary) section.append(el("p", {}, op.summary));
  if (op.description) section.append(el("p", {}, op.description));
  if (op.security) {
    const names = op.security.map((s) => Object.keys(s).join(" + ") || "none").join(" or ");
    section.append(el("p", {}, "Authentication: ", el("code", {}, names)));
  }
  if (op.parameters && op.parameters.length) {
    const rows = op.parameters.map((p) => el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in),
      el("td", {}, p.required ? "required" : ""), el("td", {}, p.description || "")));
    section.append(el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, ""), el("th", {}, "")), ...rows));
  }
  if (op.requestBody) {
    section.append(el("h4", {}, "Request body"));
    if (op.requestBody.description) section.append(el("p", {}, op.requestBody.description));
    section.append(schemaBlock(doc, op.requestBody.content));
  }
  section.append(el("h4", {}, "Answers"));
  for (const [status, response] of Object.entries(op.responses || {})) {
    section.append(el("div", {}, el("strong", {}, status), " ", response.description || ""));
    section.append(schemaBlock(doc, response.content));
  }
  return section;
}

function render(doc) {
  const main = document.getElementById("reference");
  const toc = document.getElementById("toc");
  main.replaceChildren();
  main.append(el("p", {}, doc.info.description || ""));
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operationSection(doc, method, path, op));
    }
  }
  for (const [tag, sections] of groups) {
    toc.append(el("a", { href: "#tag-" + tag }, tag));
    main.append(el("h2", { id: "tag-" + tag }, tag), ...sections);
  }
  toc.append(el("a", { href: "#security" }, "security"), el("a", { href: "#webhooks" }, "callbacks"));
  main.append(el("h2", { id: "security" }, "Security schemes"));
  const schemes = (doc.components && doc.components.securitySchemes) || {};
  main.append(el("table", {}, ...Object.entries(schemes).map(([name, s]) =>
    el("tr", {}, el("td", {}, el("code", {}, name)), el("td", {}, s.scheme || s.name || s.type), el("td", {}, s.description || "")))));
  main.append(el("h2", { id: "webhooks" }, "Callbacks relais sends (webhooks)"));
  for (const [name, item] of Object.entries(doc.webhooks || {})) {
    for (const [method, op] of Object.entries(item)) main.append(operationSection(doc, method, name, op));
  }
}

fetch("/openapi.json")
  .then((answer) => answer.json())
  .then(render)
  .catch((error) => {
    document.getElementById("reference").replaceChildren(el("p", {}, "The document could not be loaded: " + error));
  });
