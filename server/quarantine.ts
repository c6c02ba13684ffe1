import { quarantiningIncident } from '../store/incidents';
import type { Db } from '../store/db';
import { HttpError } from './errors';

/**
 * Refuses anything a quarantined identity tries to decide. Bearer auth already turns its tokens
 * away, but Slack clicks and signed email links reach the services without a token, so the
 * services every channel goes through check here.
 */
export async function refuseIfQuarantined(db: Db, actor: string): Promise<void> {
  const incidentId = await quarantiningIncident(db, actor);
  if (incidentId)
    throw new HttpError(
      403,
      `${actor} is quarantined by incident ${incidentId} and may decide nothing`,
    );
}
