import { validationFailed } from "./forge-errors.ts";

export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 100;

export interface Paging {
  page: number;
  perPage: number;
}

/**
 * `per_page` (default 30, larger values cut to 100) and `page` (default 1), as GitHub reads
 * them; a value that is not a whole number is a 422 naming it.
 */
export function parsePaging(query: URLSearchParams): Paging {
  const read = (name: string, fallback: number): number => {
    const value = query.get(name);
    if (value === null || value === "") return fallback;
    if (!/^[0-9]{1,9}$/.test(value)) {
      throw validationFailed({ resource: "Search", field: name, code: "invalid" });
    }
    return Number(value);
  };
  const perPage = read("per_page", DEFAULT_PER_PAGE);
  const page = read("page", 1);
  return {
    perPage: Math.min(Math.max(perPage, 1), MAX_PER_PAGE),
    page: Math.max(page, 1),
  };
}

/** The page's slice of `items`. */
export function pageOf<T>(items: readonly T[], paging: Paging): T[] {
  const start = (paging.page - 1) * paging.perPage;
  return items.slice(start, start + paging.perPage);
}

/**
 * GitHub's `Link` header for a page of `total` items: `prev`, `next`, `last`, `first`, each
 * the request's own URL with `page` replaced; undefined when everything fits on one page.
 */
export function linkHeader(
  url: string,
  query: URLSearchParams,
  paging: Paging,
  total: number,
): string | undefined {
  const last = Math.max(1, Math.ceil(total / paging.perPage));
  if (last === 1 && paging.page === 1) return undefined;
  const at = (page: number) => {
    const params = new URLSearchParams(query);
    params.set("per_page", String(paging.perPage));
    params.set("page", String(page));
    return `<${url}?${params.toString()}>`;
  };
  const links: string[] = [];
  if (paging.page > 1) links.push(`${at(Math.min(paging.page - 1, last))}; rel="prev"`);
  if (paging.page < last) {
    links.push(`${at(paging.page + 1)}; rel="next"`);
    links.push(`${at(last)}; rel="last"`);
  }
  if (paging.page > 1) links.push(`${at(1)}; rel="first"`);
  return links.join(", ");
}
