package io.cosyvoice.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import io.cosyvoice.config.ClusterConfig;

import java.util.List;

/**
 * Hazelcast configured in code, never from a file on the class path: no multicast, no auto
 * detection, no phone-home; members from the TCP list or from a headless Kubernetes service's DNS
 * records; failure detection tight enough that a crashed process leaves within seconds.
 */
final class HazelcastSetup {

    static final String CLUSTER_NAME = "cosyvoice";

    private HazelcastSetup() {
    }

    static Config config(ClusterConfig cluster) {
        // Hazelcast picks its logger before it reads the config's properties: through slf4j, not java.util.logging
        System.setProperty("hazelcast.logging.type", "slf4j");
        Config config = new Config();
        config.setClusterName(CLUSTER_NAME);
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.logging.type", "slf4j");
        // the server leaves the cluster itself, after draining, in its shutdown order
        config.setProperty("hazelcast.shutdownhook.enabled", "false");
        config.setProperty("hazelcast.health.monitoring.level", "OFF");
        // a member that stops answering heartbeats is removed after 5 s (default 60 s)
        config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        config.setProperty("hazelcast.max.no.heartbeat.seconds", "5");
        // join promptly (default: wait 5 s for more members), and heal a split from a simultaneous start soon
        config.setProperty("hazelcast.wait.seconds.before.join", "1");
        config.setProperty("hazelcast.merge.first.run.delay.seconds", "10");
        config.setProperty("hazelcast.merge.next.run.delay.seconds", "10");
        // bind to the configured host only, and announce it
        config.setProperty("hazelcast.local.localAddress", cluster.host());
        config.setProperty("hazelcast.socket.bind.any", "false");

        NetworkConfig network = config.getNetworkConfig();
        network.setPort(cluster.port()).setPortAutoIncrement(false);
        network.setPublicAddress(cluster.host() + ":" + cluster.port());
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        if (cluster.kubernetesService().isPresent()) {
            // DNS lookup mode of Hazelcast's bundled Kubernetes discovery: the headless service's A records,
            // looked up again at every join and split-brain check (no Kubernetes API access needed)
            join.getKubernetesConfig().setEnabled(true)
                    .setProperty("service-dns", cluster.kubernetesService().get())
                    .setProperty("service-port", Integer.toString(cluster.port()));
        } else {
            join.getTcpIpConfig().setEnabled(true).setMembers(members(cluster));
        }

        // what Vert.x's own default-cluster.xml declares
        config.addMultiMapConfig(new MultiMapConfig("__vertx.subs").setBackupCount(1)
                .setValueCollectionType(MultiMapConfig.ValueCollectionType.SET));
        config.addMapConfig(new MapConfig("__vertx.haInfo").setBackupCount(1));
        config.addMapConfig(new MapConfig("__vertx.nodeInfo").setBackupCount(1));
        return config;
    }

    /** The member list, each with the cluster port unless it names its own. */
    static List<String> members(ClusterConfig cluster) {
        return cluster.members().stream()
                .map(member -> member.matches(".*:\\d+$") && !member.endsWith("]") ? member : member + ":" + cluster.port())
                .toList();
    }
}
