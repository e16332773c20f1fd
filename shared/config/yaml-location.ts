import { type Document, isMap, isSeq, LineCounter, parseDocument } from "yaml";

export interface ParsedYaml {
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

export function parseYamlWithLines(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  return { doc, lineCounter };
}

/**
 * The 1-based line of the node at `path` (or of its nearest existing parent), so an error
 * about `tasks[2].allowed_paths` can point at the line a person has to edit.
 */
export function lineOf(
  { doc, lineCounter }: ParsedYaml,
  path: ReadonlyArray<PropertyKey>,
): number | undefined {
  let node: unknown = doc.contents;
  let line = rangeLine(node, lineCounter);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => (item.key as { value?: unknown })?.value === key);
      if (!pair) break;
      line = rangeLine(pair.key, lineCounter) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key];
      if (node === undefined) break;
      line = rangeLine(node, lineCounter) ?? line;
    } else {
      break;
    }
  }
  return line;
}

function rangeLine(node: unknown, lineCounter: LineCounter): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? lineCounter.linePos(range[0]).line : undefined;
}
