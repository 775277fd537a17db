import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The repository carries its own documentation: every relative link in a markdown file leads to a
 * file of the repository (and to a heading there, when it names one), and no file points at the
 * workspace around it.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** This file names the forbidden references in order to look for them. */
const SELF = 'test/unit/repository-links.test.ts';
/** Generated, and long: it names registry URLs, never documents. */
const NOT_SCANNED = new Set(['package-lock.json', SELF]);

/** References to the workspace outside the repository, each with what it means. */
// The two names are spelled in pieces so that this file does not itself hold the references it looks for.
const BRIEF_NAME = ['DES', 'IGN'].join('');
const SIBLING_FOLDER = ['sha', 'red'].join('');
const OUTSIDE_REFERENCES: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: new RegExp(`${BRIEF_NAME}\\.md`), what: 'the design brief outside the repository' },
  { pattern: new RegExp(`\\.\\./${SIBLING_FOLDER}\\b`), what: 'the folder beside the repository' },
  // Not part of a URL or a longer path: `https://host/work/` and `a/work/` are not the workspace.
  { pattern: /(?<![\w.:/~-])\/work\//, what: 'an absolute workspace path' },
];

/**
 * The files a clone holds: tracked ones, plus new ones git does not ignore (so a document added
 * and not yet committed is checked too; in a clean clone the two lists are the same).
 */
function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  // A tracked file deleted in the working tree is no longer part of what the docs can link to.
  return [...new Set(listed.split('\0').filter((path) => path !== '' && existsSync(posix.join(ROOT, path))))].sort();
}

function readText(path: string): string | undefined {
  const bytes = readFileSync(posix.join(ROOT, path));
  // A NUL byte marks a binary file, as git decides it.
  return bytes.subarray(0, 8000).includes(0) ? undefined : bytes.toString('utf8');
}

/** Markdown without fenced code blocks and inline code, where brackets are not links. */
function proseOf(markdown: string): string {
  return markdown
    .replace(/^ {0,3}(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:^ {0,3}\1[^\n]*$|(?![\s\S]))/gm, '')
    .replace(/(`+)[\s\S]*?\1/g, '');
}

/** Every link target of a markdown text: inline links and images, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown);
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+["'(][^)]*)?\)/g)].map((match) => match[1] ?? '');
  const references = [...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm)].map((match) => match[1] ?? '');
  return [...inline, ...references];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function headingSlug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a markdown text offers: one per heading (repeats numbered as GitHub does), and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^ {0,3}(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:^ {0,3}\1[^\n]*$|(?![\s\S]))/gm, '');
  for (const match of withoutFences.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const slug = headingSlug(match[1] ?? '');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const match of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1] ?? '');
  return anchors;
}

/** A link target as the repository path it names and its anchor; undefined for external links. */
function resolveTarget(fromFile: string, target: string): { readonly path: string; readonly anchor?: string } | undefined {
  // A scheme (https:, mailto:) or a protocol-relative URL leaves the repository on purpose.
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
  const [rawPath = '', ...anchorParts] = target.split('#');
  const anchor = anchorParts.length > 0 ? decodeURIComponent(anchorParts.join('#')) : undefined;
  const decoded = decodeURIComponent(rawPath.split('?')[0] ?? '');
  // GitHub reads a leading slash from the repository root.
  const joined = decoded === '' ? fromFile : decoded.startsWith('/') ? decoded.slice(1) : posix.join(posix.dirname(fromFile), decoded);
  const path = posix.normalize(joined).replace(/\/$/, '');
  return anchor === undefined ? { path } : { path, anchor };
}

/** What is wrong with one link of `fromFile`, or undefined when it leads where it says. */
function brokenLink(fromFile: string, target: string, files: ReadonlySet<string>, read: (path: string) => string | undefined): string | undefined {
  const resolved = resolveTarget(fromFile, target);
  if (resolved === undefined) return undefined;
  const { path, anchor } = resolved;
  if (path === '..' || path.startsWith('../') || posix.isAbsolute(path)) return `${fromFile}: ${target} leaves the repository`;
  const isFile = files.has(path);
  const isFolder = path === '.' || [...files].some((file) => file.startsWith(`${path}/`));
  if (!isFile && !isFolder) return `${fromFile}: ${target} names no file of the repository`;
  if (anchor === undefined || anchor === '' || !isFile || !path.endsWith('.md')) return undefined;
  const anchors = anchorsOf(read(path) ?? '');
  return anchors.has(anchor) ? undefined : `${fromFile}: ${target} names no heading of ${path}`;
}

describe('a markdown link', () => {
  const files = new Set(['README.md', 'docs/operations.md', 'docs/openapi.json', 'lib/cli/cli.ts']);
  const read = (path: string): string | undefined => (path === 'docs/operations.md' ? '# Operations\n\n## Kill switch\n\n## `api-5xx`\n' : undefined);

  it('that climbs out of the repository is reported', () => {
    expect(brokenLink('README.md', '../outside/notes.md', files, read)).toBe('README.md: ../outside/notes.md leaves the repository');
  });

  it('to a file the repository does not hold is reported', () => {
    expect(brokenLink('docs/operations.md', 'missing.md', files, read)).toBe('docs/operations.md: missing.md names no file of the repository');
  });

  it('to a heading the named document does not have is reported', () => {
    expect(brokenLink('README.md', 'docs/operations.md#kill-switches', files, read)).toBe('README.md: docs/operations.md#kill-switches names no heading of docs/operations.md');
  });

  it('to a file, a folder, a heading or the web is accepted', () => {
    const targets = ['#kill-switch', 'operations.md#api-5xx', '../README.md', '../lib/cli/cli.ts', '../lib/cli/', 'openapi.json', 'https://example.com/work/x'];
    expect(targets.map((target) => brokenLink('docs/operations.md', target, files, read))).toEqual(targets.map(() => undefined));
  });

  it('inside code is no link', () => {
    expect(linkTargets('see [a](x.md)\n\n```sh\necho [b](y.md)\n```\n\n`[c](z.md)`\n\n[d]: w.md\n')).toEqual(['x.md', 'w.md']);
  });
});

describe('the repository', () => {
  const files = repositoryFiles();
  const fileSet = new Set(files);
  const texts = new Map(files.filter((path) => !NOT_SCANNED.has(path)).map((path) => [path, readText(path)] as const));
  const markdown = files.filter((path) => path.endsWith('.md'));

  it('holds its documentation as markdown files, the README among them', () => {
    expect(markdown).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/lean-runner-contract.md', 'docs/operations.md']));
  });

  it('links every relative markdown link to a file of the repository and an existing heading', () => {
    const read = (path: string): string | undefined => texts.get(path) ?? readText(path);
    const broken = markdown.flatMap((path) =>
      linkTargets(texts.get(path) ?? '')
        .map((target) => brokenLink(path, target, fileSet, read))
        .filter((problem): problem is string => problem !== undefined),
    );
    expect(broken).toEqual([]);
  });

  it('mentions no design brief, shared folder or absolute workspace path in any file', () => {
    const found = [...texts].flatMap(([path, text]) =>
      (text ?? '').split('\n').flatMap((line, index) =>
        OUTSIDE_REFERENCES.filter(({ pattern }) => pattern.test(line)).map(({ what }) => `${path}:${index + 1}: ${what}: ${line.trim()}`),
      ),
    );
    expect(found).toEqual([]);
  });
});
