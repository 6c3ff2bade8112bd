// An example policy in a different style from the constitution: no EffectVector arithmetic, only
// rules over the request's context attributes.
//   tool.execute: context.tool on the allow-list -> permit; on the review list -> escalate; else deny.
//                 context.tenant must equal context.resource_tenant when both are given.
//                 context.hour (0-23) outside 08-18 -> escalate.
//   mesh.connect: context.peer must be a *.internal host.
import { cabi_realloc, Decision, decision, deny, escalate, handle, permit, Request, Text, text, Verdict } from '../../../sdk/index';

export { cabi_realloc };

const ALLOWED: string[] = ['read_file', 'list_dir', 'search', 'summarize'];
const REVIEW: string[] = ['deploy', 'shell', 'send_email'];
const TENANT_MISMATCH = text('context.tenant.mismatch');

function tool(req: Request): Decision {
  const t = req.context('tool');
  if (t == null) return deny('tool.execute needs context.tool', 'context.tool.missing');
  const tenant = req.context('tenant');
  const owner = req.context('resource_tenant');
  if (tenant != null && owner != null && tenant != owner)
    // Built as UTF-8 in place (SDK Text): tenant names may be long and need not be ASCII.
    return decision(
      Verdict.Deny,
      new Text().add('tenant ').add(tenant).add(' may not act on a resource of tenant ').add(owner),
      TENANT_MISMATCH,
    );
  const hour = req.context('hour');
  if (hour != null) {
    const h = I32.parseInt(hour);
    if (h < 8 || h > 18) return escalate('outside working hours (' + hour + 'h)', 'context.hours.outside');
  }
  if (ALLOWED.includes(t)) return permit(t + ' is on the allow-list', 'context.tool.allowed');
  if (REVIEW.includes(t)) return escalate(t + ' needs a human', 'context.tool.review');
  return deny(t + ' is not an allowed tool', 'context.tool.denied');
}

function decide(req: Request): Decision {
  if (req.fieldIs(0, 'tool.execute')) return tool(req);
  if (req.fieldIs(0, 'mesh.connect')) {
    const peer = req.context('peer');
    if (peer != null && peer.endsWith('.internal')) return permit('internal peer ' + peer, 'context.peer.internal');
    return deny('mesh.connect only to *.internal peers', 'context.peer.external');
  }
  return deny('this policy serves tool.execute and mesh.connect only', 'gate.unknown');
}

export function evaluate(ptr: usize): usize {
  return handle(ptr, decide);
}
