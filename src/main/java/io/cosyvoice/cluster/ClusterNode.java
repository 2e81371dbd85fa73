package io.cosyvoice.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import io.cosyvoice.config.ClusterConfig;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * This process as a member of the cluster: the Hazelcast cluster manager Vert.x joins with, the
 * event bus bound to the configured host, and notice of members that leave (stopped or crashed).
 */
public final class ClusterNode {

    private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);
    /** Where vertx-hazelcast keeps a member's Vert.x node id. */
    private static final String VERTX_NODE_ID_ATTRIBUTE = "__vertx.nodeId";

    private final ClusterConfig config;
    private final HazelcastClusterManager manager;
    private final List<Consumer<String>> leftListeners = new CopyOnWriteArrayList<>();

    private ClusterNode(ClusterConfig config) {
        this.config = config;
        this.manager = new HazelcastClusterManager(HazelcastSetup.config(config));
    }

    /** A node for this configuration; it joins when Vert.x is built with {@link #clusterManager()}. */
    public static ClusterNode create(ClusterConfig config) {
        return new ClusterNode(config);
    }

    /** The options with the event bus bound to, and announced at, the configured host. */
    public VertxOptions vertxOptions(VertxOptions options) {
        return new VertxOptions(options).setEventBusOptions(new EventBusOptions()
                .setHost(config.host())
                .setPort(config.eventBusPort())
                .setClusterPublicHost(config.host()));
    }

    public ClusterManager clusterManager() {
        return manager;
    }

    /** This node's id (after joining): backends take jobs at addresses named by it. */
    public String nodeId() {
        return manager.getNodeId();
    }

    /** Starts reporting members that leave; call once Vert.x has joined. */
    public void watchMembers() {
        manager.getHazelcastInstance().getCluster().addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent event) {
                log.atInfo().addKeyValue("node", vertxNodeId(event.getMember())).addKeyValue("address", event.getMember().getAddress())
                        .log("cluster member joined");
            }

            @Override
            public void memberRemoved(MembershipEvent event) {
                String node = vertxNodeId(event.getMember());
                log.atWarn().addKeyValue("node", node).addKeyValue("address", event.getMember().getAddress())
                        .log("cluster member left");
                leftListeners.forEach(listener -> listener.accept(node));
            }
        });
    }

    /** Vert.x names a node by an id of its own, kept as a Hazelcast member attribute. */
    private static String vertxNodeId(Member member) {
        String id = member.getAttribute(VERTX_NODE_ID_ATTRIBUTE);
        return id == null ? member.getUuid().toString() : id;
    }

    /** The cluster address (host:port) of the member with this Vert.x node id, if it is a member. */
    public Optional<String> memberAddress(String nodeId) {
        return manager.getHazelcastInstance().getCluster().getMembers().stream()
                .filter(member -> nodeId.equals(vertxNodeId(member)))
                .map(member -> member.getAddress().getHost() + ":" + member.getAddress().getPort())
                .findFirst();
    }

    /** Calls {@code listener} (on a Hazelcast thread) with the id of every member that leaves. */
    public void onNodeLeft(Consumer<String> listener) {
        leftListeners.add(listener);
    }

    /** What logs and health checks show. */
    public String describe() {
        return config.role().name().toLowerCase(java.util.Locale.ROOT) + " " + config.host() + ":" + config.port()
                + (config.kubernetesService().map(s -> " (members from DNS " + s + ")")
                .orElse(" (members " + String.join(",", HazelcastSetup.members(config)) + ")"));
    }
}
