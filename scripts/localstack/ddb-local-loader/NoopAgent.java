/*
 * Stand-in for LocalStack's "ddb-local-loader-0.1.jar".
 *
 * LocalStack starts DynamoDB Local with -javaagent:<...>/ddb-local-loader-0.1.jar. The real agent
 * only patches DynamoDB Local to lift the limit of 20 global secondary indexes per table, and
 * LocalStack would download it from the internet on first use (which cannot work here). This agent
 * does nothing, so DynamoDB Local keeps its own (AWS-like) limits.
 */
package localstack.hostmode;

import java.lang.instrument.Instrumentation;

public final class NoopAgent {
    private NoopAgent() {}

    public static void premain(String args, Instrumentation inst) {
        // intentionally empty
    }
}
