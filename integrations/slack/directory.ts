import type { WebClient } from '@slack/web-api';
import type { PolicyView } from '../../domain/access';

/**
 * Maps keyward identities to Slack users and back: the policy's slackUserId first, then the
 * identity's email through Slack's directory. Lookups are cached for the process's lifetime.
 */
export class SlackDirectory {
  private readonly byIdentity = new Map<string, string | undefined>();
  private readonly byUser = new Map<string, string | undefined>();

  constructor(
    private readonly policy: () => PolicyView,
    private readonly client: WebClient,
  ) {}

  async slackIdFor(identityId: string): Promise<string | undefined> {
    if (this.byIdentity.has(identityId)) return this.byIdentity.get(identityId);
    const identity = this.policy().identity(identityId);
    let slackId = identity?.slackUserId;
    if (!slackId && identity?.email) {
      try {
        slackId = (await this.client.users.lookupByEmail({ email: identity.email })).user?.id;
      } catch (err) {
        // Only Slack's own "no such user" is an answer worth keeping; any other failure is asked again.
        if ((err as { data?: { error?: string } }).data?.error !== 'users_not_found') throw err;
      }
    }
    this.byIdentity.set(identityId, slackId);
    return slackId;
  }

  /** The identity behind a Slack user, or undefined for anyone the policy does not know. */
  async identityFor(slackUserId: string): Promise<string | undefined> {
    if (this.byUser.has(slackUserId)) return this.byUser.get(slackUserId);
    const identities = this.policy().policy.identities;
    let identity = identities.find((i) => i.slackUserId === slackUserId);
    if (!identity) {
      // A failed lookup is not remembered: the next click asks Slack again.
      const info = await this.client.users.info({ user: slackUserId });
      const email = info.user?.profile?.email?.toLowerCase();
      // A Slack user already mapped to an identity by id cannot claim another identity by email.
      identity = email
        ? identities.find((i) => !i.slackUserId && i.email?.toLowerCase() === email)
        : undefined;
    }
    this.byUser.set(slackUserId, identity?.id);
    return identity?.id;
  }
}
