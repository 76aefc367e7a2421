// Run by `npm run build` after tsc: writes the workflow bundles createWorker loads (dist/workflow-bundle*.js and
// their manifest), so a worker from the package does not run webpack when it starts (src/workflow-bundles.ts).
import { writePrebuiltWorkflowBundles } from '../dist/workflow-bundles.js';

for (const file of await writePrebuiltWorkflowBundles()) console.log(`keel: wrote ${file}`);
