package io.cosyvoice.cluster;

import io.cosyvoice.config.ClusterConfig;
import io.cosyvoice.support.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Two cluster nodes in this JVM on two loopback addresses, found through DNS the way a headless
 * Kubernetes service is (the name {@code localhost}: its A record is the first node's address,
 * and the second joins it through it): they form one cluster, and when one leaves the other
 * reports its Vert.x node id.
 */
class ClusterNodeTest {

    @Test
    void membersFoundThroughDnsJoinAndALeavingMemberIsReported() throws Exception {
        int port = FreePorts.next();
        ClusterNode first = ClusterNode.create(new ClusterConfig(ClusterConfig.Role.FRONTEND, List.of(),
                Optional.of("localhost"), "127.0.0.1", port, 0));
        ClusterNode second = ClusterNode.create(new ClusterConfig(ClusterConfig.Role.BACKEND, List.of(),
                Optional.of("localhost"), "127.0.0.2", port, 0));
        Vertx firstVertx = join(first);
        Vertx secondVertx = null;
        try {
            secondVertx = join(second);
            first.watchMembers();
            CompletableFuture<String> left = new CompletableFuture<>();
            first.onNodeLeft(left::complete);
            assertEquals(2, first.clusterManager().getNodes().size(), "one cluster of two");
            assertNotEquals(first.nodeId(), second.nodeId());

            String secondId = second.nodeId();
            secondVertx.close().await(30, TimeUnit.SECONDS);
            secondVertx = null;
            assertEquals(secondId, left.get(30, TimeUnit.SECONDS), "the node that left, by its Vert.x id");
        } finally {
            if (secondVertx != null) {
                secondVertx.close().await(30, TimeUnit.SECONDS);
            }
            firstVertx.close().await(30, TimeUnit.SECONDS);
        }
    }

    private static Vertx join(ClusterNode node) throws Exception {
        return Vertx.builder().with(node.vertxOptions(new VertxOptions())).withClusterManager(node.clusterManager())
                .buildClustered().await(60, TimeUnit.SECONDS);
    }
}
