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

/** The config blob, stored under its own sha256; its digest is the image id. */
export interface ImageConfigBlob {
  architecture: string;
  os: string;
  created: string;
  config: {
    Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string;
    ExposedPorts?: Record<string, object>; Volumes?: Record<string, object>; Labels?: Record<string, string>; StopSignal?: string;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: { created: string; comment?: string; created_by?: string }[];
}

export interface ImageRecord {
  id: string;
  blob: ImageConfigBlob;
  repoTags: string[];
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
