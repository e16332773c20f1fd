import { errorMessage } from "../errors/error-message.ts";
import { itemsProblem } from "./items-problem.ts";
import type { PendingAppend } from "./plan-records.ts";
import type { AppendItem, AppendOutcome, StoreFailedError } from "./types.ts";

export interface AppendQueueOptions {
  /** How the store names itself in errors (a directory, a redacted URL). */
  location: string;
  /** Commits one group: resolves or rejects every call in it; throws only on a bug. */
  commit(group: PendingAppend[]): Promise<void>;
  /** The store's failure, once it refuses appends. */
  failure(): StoreFailedError | undefined;
  /** Marks the store failed (a bug in `commit`: its state may be half-updated). */
  fail(reason: string): void;
  /** Whether the store is closing: new calls are refused. */
  closing(): boolean;
  /** Calls per group: all queued (group commit, the default) or one at a time. */
  oneAtATime?: () => boolean;
}

/**
 * Both stores' group commit: `append` checks its argument, queues the call, and one writer takes
 * everything queued meanwhile as the next group, so concurrent calls share a commit and each is
 * acknowledged only once its group is durable.
 */
export class AppendQueue {
  private queue: PendingAppend[] = [];
  private draining: Promise<void> | undefined;

  constructor(private readonly options: AppendQueueOptions) {}

  append(items: readonly AppendItem[]): Promise<AppendOutcome> {
    const { options } = this;
    if (options.closing()) {
      return Promise.reject(new Error(`event store ${options.location} is closed`));
    }
    const failure = options.failure();
    if (failure) return Promise.reject(failure);
    const problem = itemsProblem(items);
    if (problem) return Promise.reject(new TypeError(problem));
    if (items.length === 0) return Promise.resolve({ ingested: 0, duplicates: 0, records: [] });
    return new Promise<AppendOutcome>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Resolves once every call queued so far is settled. */
  async drained(): Promise<void> {
    await this.draining;
  }

  private async drain(): Promise<void> {
    // Calls made in the same tick as the first one join its group.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const group = this.options.oneAtATime?.() ? this.queue.splice(0, 1) : this.queue.splice(0);
      try {
        await this.options.commit(group);
      } catch (error) {
        this.options.fail(`hit an unexpected error while committing: ${errorMessage(error)}`);
        for (const call of group) call.reject(this.options.failure());
      }
    }
    this.draining = undefined;
  }
}
