/** `actor_id` of the events the control plane records itself (`circuit.reset`, bundle artifacts). */
export const CONTROL_PLANE_ACTOR = "control-plane";
