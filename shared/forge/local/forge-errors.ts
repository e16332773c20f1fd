/** Where GitHub's error bodies point; the forge has no docs of its own. */
export const DOCUMENTATION_URL = "https://docs.github.com/rest";

/** One entry of a 422's `errors`, as GitHub words them. */
export interface ValidationErrorItem {
  resource: string;
  code: "missing_field" | "invalid" | "already_exists" | "custom" | "missing";
  field?: string;
  message?: string;
}

/**
 * An error reply in GitHub's shape (`{message, documentation_url, errors?}`). The REST
 * routes throw it, the server writes it, and `LocalForge.mergePullRequest` passes it on.
 */
export class ForgeHttpError extends Error {
  override readonly name = "ForgeHttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: ValidationErrorItem[],
  ) {
    super(message);
  }

  get body(): { message: string; documentation_url: string; errors?: ValidationErrorItem[] } {
    return {
      message: this.message,
      documentation_url: DOCUMENTATION_URL,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export function notFound(): ForgeHttpError {
  return new ForgeHttpError(404, "Not Found");
}

export function validationFailed(...errors: ValidationErrorItem[]): ForgeHttpError {
  return new ForgeHttpError(422, "Validation Failed", errors);
}

export function badCredentials(message = "Bad credentials"): ForgeHttpError {
  return new ForgeHttpError(401, message);
}
