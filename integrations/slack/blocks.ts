import type { RequestFacts } from '../../domain/notify';

// Action and view ids are snake_case: Slack sends them back to us verbatim.
export const ActionId = {
  approve: 'approve_request',
  deny: 'deny_request',
  approveRestore: 'approve_incident_restore',
} as const;
export const ViewId = {
  denyReason: 'deny_reason_modal',
  newRequest: 'new_request_modal',
} as const;

type Block = Record<string, unknown>;

/** Slack treats &, < and > as markup in mrkdwn; everything people typed is escaped. */
export const escapeMrkdwn = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A date Slack shows in each reader's own time zone, with a UTC fallback. */
export function slackTime(iso: string): string {
  const epoch = Math.floor(Date.parse(iso) / 1000);
  return `<!date^${epoch}^{date_short_pretty} at {time}|${iso.slice(0, 16).replace('T', ' ')} UTC>`;
}

const plain = (text: string) => ({ type: 'plain_text', text: text.slice(0, 150), emoji: false });
// verbatim: Slack would otherwise turn bare URLs and #channel names that people typed into links.
const field = (label: string, value: string) => ({
  type: 'mrkdwn',
  text: `*${label}*\n${escapeMrkdwn(value)}`,
  verbatim: true,
});

/** The request to approve an incident's restore: the notice's text, and one button. */
export function restoreBlocks(text: string, incidentId: string): Block[] {
  return [
    { type: 'section', text: { type: 'mrkdwn', text, verbatim: true } },
    {
      type: 'actions',
      block_id: 'restore',
      elements: [
        {
          type: 'button',
          action_id: ActionId.approveRestore,
          text: plain('Approve restore'),
          value: incidentId,
          confirm: {
            title: plain('Approve the restore?'),
            text: plain(
              'Its logins work again, its standing memberships come back and its credentials are rotated.',
            ),
            confirm: plain('Approve'),
            deny: plain('Cancel'),
          },
        },
      ],
    },
  ];
}

/** The approval message; with `pending` false its buttons are gone and `outcome` says why. */
export function approvalBlocks(facts: RequestFacts, outcome: string, pending: boolean): Block[] {
  const blocks: Block[] = [
    { type: 'header', text: plain(`Approval needed: ${facts.entitlement}`) },
    {
      type: 'section',
      fields: [
        field('Requester', facts.requester),
        field('Entitlement', facts.entitlement),
        field('System', facts.system),
        field('Risk tier', facts.riskTier),
        field('Duration', facts.duration),
        field('Approval rule', facts.rule),
      ],
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Justification*\n${escapeMrkdwn(facts.justification)}`,
        verbatim: true,
      },
    },
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: outcome, verbatim: true },
        { type: 'mrkdwn', text: `Request \`${facts.requestId}\`` },
      ],
    },
  ];
  if (pending) {
    blocks.push({
      type: 'actions',
      block_id: 'decision',
      elements: [
        {
          type: 'button',
          action_id: ActionId.approve,
          style: 'primary',
          text: plain('Approve'),
          value: facts.requestId,
        },
        {
          type: 'button',
          action_id: ActionId.deny,
          style: 'danger',
          text: plain('Deny'),
          value: facts.requestId,
        },
      ],
    });
  }
  return blocks;
}

export function denyReasonModal(requestId: string, entitlement: string): Block {
  return {
    type: 'modal',
    callback_id: ViewId.denyReason,
    private_metadata: requestId,
    title: plain('Deny request'),
    submit: plain('Deny'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `Deny *${escapeMrkdwn(entitlement)}*?` } },
      {
        type: 'input',
        block_id: 'reason',
        label: plain('Reason'),
        element: {
          type: 'plain_text_input',
          action_id: 'reason_input',
          multiline: true,
          max_length: 2000,
        },
      },
    ],
  };
}

export function newRequestModal(
  entitlements: { id: string; riskTier: string }[],
  initial: { entitlement?: string },
): Block {
  const options = entitlements
    .slice(0, 100)
    .map((e) => ({ text: plain(`${e.id} (${e.riskTier})`), value: e.id }));
  const chosen = options.find((o) => o.value === initial.entitlement);
  return {
    type: 'modal',
    callback_id: ViewId.newRequest,
    title: plain('Request access'),
    submit: plain('Request'),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'input',
        block_id: 'entitlement',
        label: plain('Entitlement'),
        element: {
          type: 'static_select',
          action_id: 'value',
          options,
          ...(chosen ? { initial_option: chosen } : {}),
        },
      },
      {
        type: 'input',
        block_id: 'duration',
        label: plain('For how long (30m, 4h, 1d)'),
        element: { type: 'plain_text_input', action_id: 'value' },
      },
      {
        type: 'input',
        block_id: 'reason',
        label: plain('Reason'),
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          multiline: true,
          max_length: 2000,
        },
      },
    ],
  };
}

export interface Overview {
  awaiting: { id: string; requester: string; entitlement: string }[];
  grants: { requestId: string; entitlement: string; expiresAt: string }[];
  requests: { id: string; entitlement: string; status: string }[];
}

function list(title: string, lines: string[], empty: string): Block[] {
  return [
    { type: 'header', text: plain(title) },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: lines.length ? lines.join('\n') : `_${empty}_` },
    },
  ];
}

/** The App Home tab: what waits for the reader's decision, and the access they hold. */
export function homeView(overview: Overview): Block {
  return {
    type: 'home',
    blocks: [
      ...list(
        'Waiting for your approval',
        overview.awaiting.map(
          (r) => `• ${escapeMrkdwn(r.requester)}: *${escapeMrkdwn(r.entitlement)}* (\`${r.id}\`)`,
        ),
        'Nothing waits for you.',
      ),
      { type: 'divider' },
      ...list(
        'Your active grants',
        overview.grants.map(
          (g) => `• *${escapeMrkdwn(g.entitlement)}* until ${slackTime(g.expiresAt)}`,
        ),
        'You hold no elevated access.',
      ),
    ],
  };
}

/** The same overview as text, for `/keyward status`. */
export function overviewText(overview: Overview): string {
  const requests = overview.requests.map(
    (r) => `• ${escapeMrkdwn(r.entitlement)}: ${r.status} (\`${r.id}\`)`,
  );
  const grants = overview.grants.map(
    (g) => `• *${escapeMrkdwn(g.entitlement)}* until ${slackTime(g.expiresAt)}`,
  );
  return [
    `*Your requests*\n${requests.join('\n') || '_none_'}`,
    `*Your active grants*\n${grants.join('\n') || '_none_'}`,
  ].join('\n\n');
}
