import type { RequestFacts } from '../../domain/notify';
import {
  ActionId,
  approvalBlocks,
  denyReasonModal,
  escapeMrkdwn,
  homeView,
  newRequestModal,
  overviewText,
  slackTime,
  ViewId,
} from '../../integrations/slack/blocks';

const facts: RequestFacts = {
  requestId: 'req-1',
  requester: 'Alice <!channel> & co',
  entitlement: 'pg-main/analyst',
  system: 'pg-main',
  riskTier: 'high',
  duration: '2h',
  justification: 'see <https://evil.example|the ticket>',
  rule: '2 approval(s) from approvers',
};

// Block Kit is loosely typed JSON; the tests read into it freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Block = Record<string, any>;

describe('approvalBlocks', () => {
  test('shows every fact, escaped, with Approve and Deny buttons while pending', () => {
    const blocks = approvalBlocks(facts, 'Waiting for a decision', true) as Block[];
    expect(blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      'section',
      'context',
      'actions',
    ]);
    expect(blocks[0].text).toEqual({
      type: 'plain_text',
      text: 'Approval needed: pg-main/analyst',
      emoji: false,
    });
    expect(blocks[1].fields.map((f: Block) => f.text)).toEqual([
      '*Requester*\nAlice &lt;!channel&gt; &amp; co',
      '*Entitlement*\npg-main/analyst',
      '*System*\npg-main',
      '*Risk tier*\nhigh',
      '*Duration*\n2h',
      '*Approval rule*\n2 approval(s) from approvers',
    ]);
    expect(blocks[2].text.text).toBe(
      '*Justification*\nsee &lt;https://evil.example|the ticket&gt;',
    );
    expect(blocks[3].elements.map((e: Block) => e.text)).toEqual([
      'Waiting for a decision',
      'Request `req-1`',
    ]);
    expect(blocks[4]).toMatchObject({
      block_id: 'decision',
      elements: [
        {
          action_id: ActionId.approve,
          style: 'primary',
          value: 'req-1',
          text: { text: 'Approve' },
        },
        { action_id: ActionId.deny, style: 'danger', value: 'req-1', text: { text: 'Deny' } },
      ],
    });
  });

  test('drops the buttons once the request is decided', () => {
    const blocks = approvalBlocks(facts, 'Approved by Bob', false) as Block[];
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(blocks[3].elements[0].text).toBe('Approved by Bob');
  });

  test("keeps the header within Slack's 150 characters", () => {
    const blocks = approvalBlocks({ ...facts, entitlement: 'x'.repeat(200) }, '', true) as Block[];
    expect(blocks[0].text.text).toHaveLength(150);
  });
});

describe('modals', () => {
  test('the deny modal carries the request id and asks for a reason', () => {
    const modal = denyReasonModal('req-1', 'pg-main/<analyst>') as Block;
    expect(modal).toMatchObject({
      type: 'modal',
      callback_id: ViewId.denyReason,
      private_metadata: 'req-1',
    });
    expect(modal.blocks[0].text.text).toBe('Deny *pg-main/&lt;analyst&gt;*?');
    expect(modal.blocks[1]).toMatchObject({
      type: 'input',
      block_id: 'reason',
      element: { action_id: 'reason_input', max_length: 2000 },
    });
  });

  test('the request modal offers the entitlements and preselects the one named', () => {
    const entitlements = [
      { id: 'a', riskTier: 'low' },
      { id: 'b', riskTier: 'high' },
    ];
    const modal = newRequestModal(entitlements, { entitlement: 'b' }) as Block;
    expect(modal.callback_id).toBe(ViewId.newRequest);
    expect(modal.blocks.map((b: Block) => b.block_id)).toEqual([
      'entitlement',
      'duration',
      'reason',
    ]);
    const select = modal.blocks[0].element;
    expect(select.options.map((o: Block) => o.value)).toEqual(['a', 'b']);
    expect(select.initial_option.value).toBe('b');
    expect(
      (newRequestModal(entitlements, { entitlement: 'nope' }) as Block).blocks[0].element
        .initial_option,
    ).toBeUndefined();
  });

  test('the request modal offers at most the 100 options Slack allows', () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ id: `e${i}`, riskTier: 'low' }));
    expect((newRequestModal(many, {}) as Block).blocks[0].element.options).toHaveLength(100);
  });
});

describe('overviews', () => {
  const overview = {
    awaiting: [{ id: 'req-1', requester: 'Alice <x>', entitlement: 'pg/a' }],
    grants: [{ requestId: 'req-2', entitlement: 'pg/b', expiresAt: '2026-01-02T03:04:05.000Z' }],
    requests: [{ id: 'req-3', entitlement: 'pg/c', status: 'PENDING' }],
  };

  test('the App Home lists what waits for the reader and what they hold', () => {
    const view = homeView(overview) as Block;
    expect(view.type).toBe('home');
    const texts = view.blocks
      .filter((b: Block) => b.type === 'section')
      .map((b: Block) => b.text.text);
    expect(texts).toEqual([
      '• Alice &lt;x&gt;: *pg/a* (`req-1`)',
      `• *pg/b* until ${slackTime('2026-01-02T03:04:05.000Z')}`,
    ]);
    const empty = homeView({ awaiting: [], grants: [], requests: [] }) as Block;
    expect(JSON.stringify(empty)).toContain('_Nothing waits for you._');
    expect(JSON.stringify(empty)).toContain('_You hold no elevated access._');
  });

  test('the status text lists requests and grants', () => {
    const until = slackTime('2026-01-02T03:04:05.000Z');
    expect(overviewText(overview)).toBe(
      `*Your requests*\n• pg/c: PENDING (\`req-3\`)\n\n*Your active grants*\n• *pg/b* until ${until}`,
    );
  });
});

describe('slackTime and escapeMrkdwn', () => {
  test('a time is a date token with a UTC fallback', () => {
    expect(slackTime('2026-01-02T03:04:05.000Z')).toBe(
      '<!date^1767323045^{date_short_pretty} at {time}|2026-01-02 03:04 UTC>',
    );
  });

  test('escapes the three characters mrkdwn reads as markup', () => {
    expect(escapeMrkdwn('<!here> & <@U1>')).toBe('&lt;!here&gt; &amp; &lt;@U1&gt;');
  });
});
