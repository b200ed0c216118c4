// CRI ImageService: validates requests, translates to the image domain, and back.
import type { ImageService as ImageDomain } from '../image/image-service';
import type { ImageRecord } from '../image/image-index';
import { imageUser } from '../image/image-index';
import type {
  Image,
  ImageFsInfoResponse,
  ImageStatusRequest__Output,
  ImageStatusResponse,
  ListImagesRequest__Output,
  ListImagesResponse,
  PullImageRequest__Output,
  PullImageResponse,
  RemoveImageRequest__Output,
  RemoveImageResponse,
} from './proto';
import { required, type RpcContext, type UnaryImpl } from './rpc';

export function toCriImage(r: ImageRecord): Image {
  const u = imageUser(r.config);
  return {
    id: r.id,
    repoTags: r.repoTags,
    repoDigests: r.repoDigests,
    size: String(r.size),
    uid: u.uid !== undefined ? { value: String(u.uid) } : null,
    username: u.username ?? '',
    spec: { image: r.id, annotations: {} },
    pinned: r.pinned,
  };
}

export function imageHandlers(images: ImageDomain): Record<string, UnaryImpl<any, any>> {
  return {
    ListImages: (req: ListImagesRequest__Output): ListImagesResponse => ({
      images: images.list(req.filter?.image?.image || undefined).map(toCriImage),
    }),

    ImageStatus: (req: ImageStatusRequest__Output): ImageStatusResponse => {
      const r = images.status(required(req.image?.image, 'ImageStatus: image'));
      if (!r) return { image: null, info: {} };
      const info: Record<string, string> = {};
      if (req.verbose) {
        info.info = JSON.stringify({
          id: r.id,
          repoTags: r.repoTags,
          repoDigests: r.repoDigests,
          manifestDigest: r.manifest.digest,
          chainID: r.layers.at(-1)?.chainId ?? '',
          imageSpec: r.config,
        });
      }
      return { image: toCriImage(r), info };
    },

    PullImage: async (req: PullImageRequest__Output, ctx: RpcContext): Promise<PullImageResponse> => {
      const name = required(req.image?.image, 'PullImage: image');
      const a = req.auth;
      const auth = a
        ? {
            username: a.username || undefined,
            password: a.password || undefined,
            auth: a.auth || undefined,
            identityToken: a.identityToken || undefined,
            registryToken: a.registryToken || undefined,
          }
        : undefined;
      const r = await images.pull(name, { auth, signal: ctx.signal });
      return { imageRef: r.id };
    },

    RemoveImage: async (req: RemoveImageRequest__Output): Promise<RemoveImageResponse> => {
      await images.remove(required(req.image?.image, 'RemoveImage: image'));
      return {};
    },

    ImageFsInfo: async (): Promise<ImageFsInfoResponse> => {
      const u = await images.fsUsage();
      return {
        imageFilesystems: [
          {
            timestamp: String(BigInt(u.timestamp) * 1_000_000n),
            fsId: { mountpoint: u.mountpoint },
            usedBytes: { value: String(u.usedBytes) },
            inodesUsed: { value: String(u.inodesUsed) },
          },
        ],
        containerFilesystems: [],
      };
    },
  };
}
