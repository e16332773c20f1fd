/**
 * The first SIGTERM or SIGINT, for servers that drain before they exit; a second one while
 * draining ends the process at once (exit 130), as a person pressing Ctrl-C twice expects.
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      process.off("SIGTERM", first);
      process.off("SIGINT", first);
      const again = () => process.exit(130);
      process.once("SIGTERM", again);
      process.once("SIGINT", again);
      resolve(signal);
    };
    process.on("SIGTERM", first);
    process.on("SIGINT", first);
  });
}
