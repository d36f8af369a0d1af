#include "net/lwip/e1000_netif.h"

#include <string.h>

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "netif/ethernet.h"

static err_t link_output(struct netif *netif, struct pbuf *p)
{
    struct e1000 *nic = netif->state;
    if (p->tot_len > E1000_FRAME_MAX)
        return ERR_VAL;
    void *buf = e1000_tx_buffer(nic);
    if (!buf) {
        LINK_STATS_INC(link.drop);
        return ERR_MEM;
    }     /* lwIP's TCP retransmits; the ring drains as the NIC sends */
    pbuf_copy_partial(p, buf, p->tot_len, 0);
    e1000_tx_send(nic, p->tot_len);
    return ERR_OK;
}

static err_t netif_init_e1000(struct netif *netif)
{
    struct e1000 *nic = netif->state;
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->output = etharp_output;
    netif->linkoutput = link_output;
    netif->mtu = 1500;
    netif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(netif->hwaddr, nic->mac, ETH_HWADDR_LEN);
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    return ERR_OK;
}

bool e1000_netif_add(struct netif *netif, struct e1000 *nic, const ip4_addr_t *ip,
                     const ip4_addr_t *mask, const ip4_addr_t *gw)
{
    if (!netif_add(netif, ip, mask, gw, nic, netif_init_e1000, ethernet_input))
        return false;
    netif_set_default(netif);
    netif_set_up(netif);
    if (e1000_link_up(nic))
        netif_set_link_up(netif);
    return true;
}

void e1000_netif_track_link(struct netif *netif)
{
    struct e1000 *nic = netif->state;
    bool up = e1000_link_up(nic);
    if (up && !netif_is_link_up(netif))
        netif_set_link_up(netif);
    else if (!up && netif_is_link_up(netif))
        netif_set_link_down(netif);
}

unsigned e1000_netif_poll(struct netif *netif, unsigned budget)
{
    struct e1000 *nic = netif->state;
    unsigned n = 0;
    size_t len;
    const void *frame;
    while (n < budget && (frame = e1000_rx_peek(nic, &len)) != NULL) {
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
        if (p) {
            pbuf_take(p, frame, (u16_t)len);
            if (netif->input(p, netif) != ERR_OK)
                pbuf_free(p);
        } else {
            LINK_STATS_INC(link.drop);
            nic->stats.rx_dropped++;
        }
        e1000_rx_release(nic);
        n++;
    }
    return n;
}
