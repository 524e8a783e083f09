/**
 * Soak on the filesystem: many uploads with shuffled and duplicated chunks over two ingest
 * instances and two workers: 0 corrupted, 0 lost, exactly one merge each (lib/soak.ts).
 * CI size: SOAK_UPLOADS=1000 by default; raise it for a longer run (README, "Testing").
 */
import { soak } from './lib/soak.js';

soak({ name: 'the filesystem', defaultUploads: 1000 });
