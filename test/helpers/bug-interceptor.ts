/**
 * A workflow interceptor that plants a bug in workflow code: for runs whose id starts with `buggy-`, the result
 * of the first model call is met by a TypeError, as a programming error in a workflow step would be. Bundled only
 * into the "broken deploy" of test/integration/workflow-bug.test.ts.
 */
import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      async scheduleActivity(input, next) {
        const result = await next(input);
        if (input.activityType === 'callModel' && workflowInfo().workflowId.startsWith('buggy-')) {
          throw new TypeError("Cannot read properties of undefined (reading 'items')");
        }
        return result;
      },
    },
  ],
});
