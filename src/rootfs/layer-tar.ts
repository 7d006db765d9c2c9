// A container's changes as an OCI image layer (what Commit stores): its upper dir as a tar, with
// overlayfs's whiteouts turned into the layer format's.
import { TreePacker } from '../archive/pack';
import { overlayOpaqueCheck, type OpaqueCheck } from './changes';
import { DirFd } from './dir-fd';

/**
 * The uncompressed layer tar of upperDir, produced as the consumer reads it:
 * - every entry below upperDir, relative ("etc/", "etc/passwd"); no entry for the root itself;
 * - directories before their contents; in each directory first its opaque marker
 *   "<dir>/.wh..wh..opq" (trusted.overlay.opaque=y), then ".wh.<name>" for each whiteout (0/0
 *   character device), then the other names sorted; so the same upper dir gives the same bytes;
 * - owners, modes (setuid/setgid/sticky too), mtimes in whole seconds, symlinks, devices, fifos;
 *   a hard-linked inode once, later names as link entries; sockets and xattrs are left out;
 * - markers and whiteouts are empty files, mode 0, owner 0:0, with the mtime of what they stand for;
 * - long names and large numbers in pax headers; ends with two zero blocks.
 * The directory is walked by fd: a running container renaming things meanwhile can make entries
 * go missing, never lead the walk outside upperDir. Pause the container for a consistent layer.
 */
export async function* upperToLayerTar(upperDir: string, isOpaque: OpaqueCheck = overlayOpaqueCheck()): AsyncGenerator<Buffer> {
  const root = await DirFd.open(upperDir);
  try {
    const packer = new TreePacker({ layer: { isOpaque } });
    // The root's own entry is left out; its contents are named from "".
    yield* packer.directory(root, undefined);
    yield packer.end();
  } finally {
    root.close();
  }
}
