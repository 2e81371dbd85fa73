package io.cosyvoice.config;

import java.util.List;
import java.util.Optional;

/**
 * Which part of the service this process runs and, when split, how it finds the others.
 *
 * @param role              {@link Role#ALL} (one process, no cluster), {@link Role#FRONTEND} or {@link Role#BACKEND}
 * @param members           TCP member list ({@code host[:port]}, port defaults to {@link #port}) to join
 * @param kubernetesService DNS name of a headless service whose A records are the members (with {@link #port})
 * @param host              the address this process binds the cluster (Hazelcast) and event bus to and announces
 * @param port              the Hazelcast member port
 * @param eventBusPort      the event bus's TCP port; 0: any free port (announced through the cluster)
 */
public record ClusterConfig(Role role, List<String> members, Optional<String> kubernetesService, String host, int port,
                            int eventBusPort) {

    /** What a process runs. */
    public enum Role {
        /** HTTP API and engine in one process, no cluster. */
        ALL,
        /** HTTP, WebSocket, text preparation and audio encoding; synthesis and prompt features go to backends. */
        FRONTEND,
        /** The engine and its batcher; no public API. */
        BACKEND
    }

    public static final ClusterConfig DEFAULTS =
            new ClusterConfig(Role.ALL, List.of(), Optional.empty(), "127.0.0.1", 5701, 0);

    public ClusterConfig {
        members = List.copyOf(members);
    }

    /** True when this process joins a cluster (frontend or backend). */
    public boolean clustered() {
        return role != Role.ALL;
    }
}
