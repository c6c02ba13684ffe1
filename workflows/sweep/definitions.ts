/** The schedule, and the workflow id each of its runs takes, of the sweep for orphaned grants. */
export const SWEEP_SCHEDULE_ID = 'sweep/orphaned-grants';
