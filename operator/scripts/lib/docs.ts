// Reads the doc comments of the API schema source with ts-morph: the comment above each exported
// schema const, and above each property of the z.object(...) it builds. These become the CRD
// descriptions and docs/api.md, so the comments in operator/src/api are the only place to write them.
import { Node, Project, SyntaxKind, type CallExpression } from 'ts-morph';
import type { SchemaDocs } from './structural.js';

/** `/** text *\/` → "text", lines joined; blank comment lines become paragraph breaks. */
export function commentText(raw: string): string {
  const lines = raw
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, '').trim());
  const paragraphs: string[] = [];
  let current: string[] = [];
  for (const l of lines) {
    if (l === '') {
      if (current.length > 0) paragraphs.push(current.join(' '));
      current = [];
    } else current.push(l);
  }
  if (current.length > 0) paragraphs.push(current.join(' '));
  return paragraphs.join('\n\n');
}

function docOf(node: Node): string | undefined {
  const ranges = node.getLeadingCommentRanges().filter((r) => r.getText().startsWith('/**'));
  const last = ranges.at(-1);
  return last ? commentText(last.getText()) : undefined;
}

function isObjectCall(c: CallExpression): boolean {
  return /^z\.(object|strictObject|looseObject)$/.test(c.getExpression().getText());
}

/** Doc comments of the properties of the outermost z.object({...}) an initializer builds. */
function propertyDocs(init: Node | undefined): Record<string, string> {
  const props: Record<string, string> = {};
  // Descendants come in pre-order: the first z.object call is the outermost.
  const call = init && (Node.isCallExpression(init) && isObjectCall(init) ? init : init.getDescendantsOfKind(SyntaxKind.CallExpression).find(isObjectCall));
  const literal = call?.getArguments()[0];
  if (!literal || !Node.isObjectLiteralExpression(literal)) return props;
  for (const prop of literal.getProperties()) {
    const d = Node.isPropertyAssignment(prop) ? docOf(prop) : undefined;
    if (d !== undefined && Node.isPropertyAssignment(prop)) props[prop.getName()] = d;
  }
  return props;
}

/** Doc comments of every exported const in the given source files, keyed by const name. */
export function readSchemaDocs(files: readonly string[]): SchemaDocs {
  const project = new Project({ skipAddingFilesFromTsConfig: true, skipFileDependencyResolution: true });
  const docs: SchemaDocs = {};
  for (const sf of project.addSourceFilesAtPaths([...files])) {
    for (const stmt of sf.getVariableStatements().filter((st) => st.isExported())) {
      const doc = docOf(stmt);
      for (const decl of stmt.getDeclarations()) {
        docs[decl.getName()] = { ...(doc !== undefined ? { doc } : {}), props: propertyDocs(decl.getInitializer()) };
      }
    }
  }
  return docs;
}
