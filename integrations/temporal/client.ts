import { Client, Connection } from '@temporalio/client';
import { encryptedDataConverter } from './codec';

/** A Temporal client whose payloads are encrypted with keyward's key; close its connection when done. */
export async function connectTemporalClient(options: {
  address: string;
  namespace: string;
  encryptionKey: Buffer;
}): Promise<Client> {
  const connection = await Connection.connect({ address: options.address });
  return new Client({
    connection,
    namespace: options.namespace,
    dataConverter: encryptedDataConverter(options.encryptionKey),
  });
}
