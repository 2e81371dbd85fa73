# syntax=docker/dockerfile:1
# cosyvoice-server images, built from the repository root:
#
#   docker build --target cpu  -t cosyvoice-server:0.1.0 .        # role all or frontend; CPU engine
#   docker build --target cuda -t cosyvoice-server-cuda:0.1.0 .   # GPU backend (-Pcuda: onnxruntime_gpu)
#
# Both run `java -jar /app/cosyvoice-server.jar` in /app, as user 10001, with conf/application.yaml
# and the random-weight twin models/random/tiny (noise) as the default model; mount the real model
# and set COSYVOICE_MODEL_DIR. Settings come from COSYVOICE_* environment variables (README).

ARG MAVEN_IMAGE=maven:3.9-eclipse-temurin-25
ARG JRE_IMAGE=eclipse-temurin:25-jre-noble
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# ---- build: the CPU jar, its dependencies in target/lib ------------------------------------------
FROM ${MAVEN_IMAGE} AS build
WORKDIR /src
COPY pom.xml ./
# dependencies first: this layer survives source edits
RUN --mount=type=cache,target=/root/.m2 mvn -B -q dependency:go-offline -DskipTests || true
COPY src ./src
RUN --mount=type=cache,target=/root/.m2 mvn -B -q -DskipTests package

# ---- build-cuda: the same with ONNX Runtime's CUDA build (-Pcuda) ----------------------------------
FROM ${MAVEN_IMAGE} AS build-cuda
WORKDIR /src
COPY pom.xml ./
RUN --mount=type=cache,target=/root/.m2 mvn -B -q -Pcuda dependency:go-offline -DskipTests || true
COPY src ./src
RUN --mount=type=cache,target=/root/.m2 mvn -B -q -Pcuda -DskipTests package

# ---- cpu: the runtime image for role all (CPU) and frontends --------------------------------------
FROM ${JRE_IMAGE} AS cpu
RUN useradd --uid 10001 --create-home --home-dir /home/cosyvoice cosyvoice \
    && mkdir -p /var/lib/cosyvoice && chown cosyvoice /var/lib/cosyvoice
WORKDIR /app
COPY --from=build /src/target/lib/ /app/lib/
COPY --from=build /src/target/cosyvoice-server.jar /app/cosyvoice-server.jar
COPY conf/application.yaml /app/conf/application.yaml
COPY models/random/tiny/ /app/models/random/tiny/
ENV COSYVOICE_DATA_DIR=/var/lib/cosyvoice
USER 10001
EXPOSE 8080
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-jar", "/app/cosyvoice-server.jar"]

# ---- cuda: the GPU backend image, CUDA 12 + cuDNN 9 runtime with the JRE copied in -----------------
FROM ${CUDA_IMAGE} AS cuda
COPY --from=cpu /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:$PATH
RUN useradd --uid 10001 --create-home --home-dir /home/cosyvoice cosyvoice \
    && mkdir -p /var/lib/cosyvoice && chown cosyvoice /var/lib/cosyvoice
WORKDIR /app
COPY --from=build-cuda /src/target/lib/ /app/lib/
COPY --from=build-cuda /src/target/cosyvoice-server.jar /app/cosyvoice-server.jar
COPY conf/application.yaml /app/conf/application.yaml
COPY models/random/tiny/ /app/models/random/tiny/
ENV COSYVOICE_DATA_DIR=/var/lib/cosyvoice
USER 10001
EXPOSE 8080
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-jar", "/app/cosyvoice-server.jar"]
