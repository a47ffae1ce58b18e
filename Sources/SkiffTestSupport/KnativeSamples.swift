/// Samples from Knative Serving's documentation, rewritten by hand: the model's tests read
/// them, the end-to-end tests apply, export and apply them back. `image` is what the
/// container runs, so the end-to-end tests can give one they have loaded.
public enum KnativeSamples {
    /// The hello-world service: one container, a port, one variable.
    public static func helloWorld(image: String) -> String {
        """
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata:
          name: greeter
          namespace: default
        spec:
          template:
            spec:
              containers:
                - image: \(image)
                  ports:
                    - containerPort: 8080
                  env:
                    - name: TARGET
                      value: "Skiff"
        """
    }

    /// Knative's gRPC sample, grpc-ping-go: a server that speaks only HTTP/2 cleartext, so its
    /// port is named h2c. From github.com/knative/docs, code-samples/serving/grpc-ping-go
    /// (service.yaml), kept in its shape; the image, `docker.io/{username}/grpc-ping-go`
    /// there, is replaced in tests.
    public static func grpcPing(image: String) -> String {
        """
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata:
          name: grpc-ping
          namespace: default
        spec:
          template:
            spec:
              containers:
              - image: \(image)
                ports:
                  - name: h2c
                    containerPort: 8080
        """
    }

    /// A blue/green split: the named new revision takes a fifth of the requests, and each
    /// side has a tag and so a URL of its own.
    public static func trafficSplit(image: String) -> String {
        """
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata:
          name: shop
        spec:
          template:
            metadata:
              name: shop-green
            spec:
              containers:
                - image: \(image)
                  env:
                    - name: GREETING
                      value: green
          traffic:
            - revisionName: shop-blue
              percent: 80
              tag: blue
            - latestRevision: true
              percent: 20
              tag: green
        """
    }

    /// Every autoscaling annotation Knative documents for the KPA, with the revision's
    /// concurrency limit, timeout and resource limits.
    public static func autoscaling(image: String) -> String {
        """
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata:
          name: thumbnails
        spec:
          template:
            metadata:
              annotations:
                autoscaling.knative.dev/class: kpa.autoscaling.knative.dev
                autoscaling.knative.dev/metric: concurrency
                autoscaling.knative.dev/target: "10"
                autoscaling.knative.dev/target-utilization-percentage: "80"
                autoscaling.knative.dev/min-scale: "1"
                autoscaling.knative.dev/max-scale: "20"
                autoscaling.knative.dev/initial-scale: "2"
                autoscaling.knative.dev/window: "40s"
                autoscaling.knative.dev/panic-window-percentage: "20.0"
                autoscaling.knative.dev/panic-threshold-percentage: "150.0"
                autoscaling.knative.dev/scale-down-delay: "5m"
                autoscaling.knative.dev/scale-to-zero-pod-retention-period: "1m30s"
            spec:
              containerConcurrency: 50
              timeoutSeconds: 120
              containers:
                - image: \(image)
                  resources:
                    limits:
                      cpu: "1"
                      memory: 256Mi
        """
    }
}
