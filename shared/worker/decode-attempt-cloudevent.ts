import { type CloudEventV1, HTTP, type Message } from "cloudevents";
import { errorMessage } from "../errors/error-message.ts";
import { CLOUDEVENT_TYPE_PREFIX } from "../events/cloudevents.ts";
import { BadAttemptRequestError } from "./worker-errors.ts";

export const ATTEMPT_REQUESTED_CLOUDEVENT = `${CLOUDEVENT_TYPE_PREFIX}attempt.requested`;

/**
 * An HTTP request as a `dev.leviathan.attempt.requested` CloudEvent, binary or structured
 * (the SDK tells them apart by the headers); returns its data, still unchecked.
 */
export function decodeAttemptRequested(message: Message): unknown {
  let decoded: CloudEventV1<unknown> | CloudEventV1<unknown>[];
  try {
    decoded = HTTP.toEvent(message);
  } catch (error) {
    throw new BadAttemptRequestError(`not a CloudEvent: ${errorMessage(error)}`);
  }
  if (Array.isArray(decoded)) {
    throw new BadAttemptRequestError(
      "a batch of CloudEvents is not accepted; send one attempt request",
    );
  }
  try {
    // The SDK decodes without checking the required attributes; a sender must have set them.
    (decoded as { validate?: () => boolean }).validate?.();
  } catch (error) {
    throw new BadAttemptRequestError(`not a valid CloudEvent: ${errorMessage(error)}`);
  }
  if (decoded.type !== ATTEMPT_REQUESTED_CLOUDEVENT) {
    throw new BadAttemptRequestError(
      `CloudEvent type ${JSON.stringify(decoded.type)} is not ${ATTEMPT_REQUESTED_CLOUDEVENT}`,
      [{ path: "type", message: `must be ${ATTEMPT_REQUESTED_CLOUDEVENT}` }],
    );
  }
  return decoded.data;
}
