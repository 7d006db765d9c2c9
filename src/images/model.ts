// Image records as the store keeps them: the OCI-style config blob plus the names that point at it.

export interface ImageDefaults {
  env: string[];
  cmd: string[];
  entrypoint: string[];
  workingDir: string;
  user: string;
  /** "80/tcp"... */
  exposedPorts: string[];
  /** Paths that get a volume in each container. */
  volumes: string[];
  labels: Record<string, string>;
  stopSignal: string;
}

/** One step of the image's making (docker history); empty_layer steps added no layer. */
export interface HistoryStep {
  created?: string;
  created_by?: string;
  comment?: string;
  author?: string;
  empty_layer?: boolean;
}

/**
 * The config blob, stored under its own sha256 exactly as it arrived; its digest is the image id. This is the
 * parsed view, with missing optional fields filled in (config-blob.ts); unknown fields stay in the stored bytes.
 */
export interface ImageConfigBlob {
  architecture: string;
  os: string;
  variant?: string;
  created: string;
  author?: string;
  config: {
    Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string;
    ExposedPorts?: Record<string, object>; Volumes?: Record<string, object>; Labels?: Record<string, string>; StopSignal?: string;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: HistoryStep[];
}

export interface ImageRecord {
  id: string;
  blob: ImageConfigBlob;
  repoTags: string[];
  /** "repo@sha256:..." manifests it was pulled from or pushed to. */
  repoDigests: string[];
  sizeBytes: number;
}

export function imageDefaults(blob: ImageConfigBlob): ImageDefaults {
  const c = blob.config;
  return {
    env: c.Env ?? [],
    cmd: c.Cmd ?? [],
    entrypoint: c.Entrypoint ?? [],
    workingDir: c.WorkingDir ?? '',
    user: c.User ?? '',
    exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    volumes: Object.keys(c.Volumes ?? {}),
    labels: c.Labels ?? {},
    stopSignal: c.StopSignal ?? '',
  };
}
